"""content/answers.py: residents' questions answered from the library, topics and intents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from content.answers import (
    ANSWERED,
    CONFIDENT,
    COVERED,
    INTENTS,
    MAX_ANSWERS,
    MAX_CHARS,
    Answer,
    Answerer,
    answer,
    load_intents,
    prepare,
)
from content.library import Questions, install_live, load_files
from tests.content.ask_testset import (
    Figures,
    Part,
    confident,
    figures,
    independent_questions,
    part,
    questions,
)


@pytest.fixture(scope="module")
def answerer() -> Answerer:
    return Answerer(load_files(), load_intents())


@pytest.fixture
def _files_served() -> Iterator[None]:
    install_live(None)
    yield
    install_live(None)


def _ids(answers: list[Answer]) -> list[str]:
    return [f"{a.kind}:{a.id}" for a in answers]


def test_the_intents_file_has_exactly_the_handlers_intents() -> None:
    assert list(load_intents()) == list(INTENTS)
    assert all(load_intents().values())


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("bị lừa đảo qua mạng thì làm sao", "item:khi-bi-lua-dao"),
        ("lừa đảo", "topic:fraud"),
        ("lua dao", "topic:fraud"),
        ("xin chào", "intent:greeting"),
        ("alo", "intent:greeting"),
        ("hello", "intent:greeting"),
        ("cảm ơn", "intent:thanks"),
        ("👍", "intent:thanks"),
        ("113", "intent:hotline"),
        ("theo dõi tin báo", "intent:follow"),
        ("TG-YBJM5X", "intent:follow"),
        ("bj lừa ko bik lm j", "item:khi-bi-lua-dao"),
        ("Already scammed, what now?", "item:khi-bi-lua-dao"),
        ("hủy đăng ký", "intent:unsubscribe"),
    ],
)
def test_what_residents_type_is_answered(answerer: Answerer, question: str, expected: str) -> None:
    got = answerer.answer(question)
    assert expected in _ids(got)[:3], got


@pytest.mark.parametrize(
    "question", ["thời tiết hôm nay thế nào", "kết quả xổ số miền nam", "", "   ", "?!"]
)
def test_what_the_library_does_not_cover_gets_no_answer(answerer: Answerer, question: str) -> None:
    assert answerer.answer(question) == []


@pytest.mark.parametrize(
    "question",
    [
        "giá vàng hôm nay bao nhiêu",
        "what is this?",
        "kết quả bóng đá",
        "wifi nhà tôi bị chậm",
        "đăng ký xe máy mới mua",
    ],
)
def test_a_question_sharing_a_word_or_two_with_the_library_gets_no_answer(
    question: str,
) -> None:
    # not even without the out-of-scope subjects: the best answer holds too little of it
    bare = Answerer(load_files(), load_intents(), out_of_scope={})
    assert bare.answer(question) == []


def test_how_much_of_the_question_an_answer_holds(answerer: Answerer) -> None:
    def held(question: str) -> float:
        return answerer._scored(question)[2]

    assert held("bị lừa đảo qua mạng thì làm sao") >= 0.9
    # generic words ("vừa", "đứa", "kịp") count little; a syllable of another word, half
    assert held("vừa ck nhầm cho đứa lừa đảo, báo ngân hàng kịp ko") >= COVERED
    assert held("bạn có người yêu chưa") <= 0.5
    # a typo too short to be corrected everywhere is corrected against the answer
    assert held("tin dung denn") >= COVERED
    # English words are whole on their own
    assert held("bike theft") >= 0.9


def test_answers_are_best_first_at_most_five_and_scored_in_0_1(answerer: Answerer) -> None:
    got = answerer.answer("lừa đảo")
    assert 1 < len(got) <= MAX_ANSWERS
    scores = [a.score for a in got]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    assert scores[0] >= ANSWERED
    assert {a.kind for a in answerer.scores("lừa đảo")} == {"item", "topic", "intent"}


def test_only_the_start_of_a_long_text_is_read(answerer: Answerer) -> None:
    question = "bị lừa đảo qua mạng thì làm sao"
    long = question.ljust(MAX_CHARS) + "giá vàng xổ số bóng đá " * 200
    assert answerer.answer(long) == answerer.answer(question)


def test_diacritics_case_and_typos_find_the_same_article(answerer: Answerer) -> None:
    written = ["tín dụng đen", "TIN DUNG DEN", "tín dụng đên", "tin dung denn"]
    assert {_ids(answerer.answer(q))[0] for q in written} <= {"topic:credit", "item:tin-dung-den"}


def test_an_example_question_added_by_staff_leads_to_its_item() -> None:
    files = load_files()
    question = "hàng xóm nuôi chó dữ thả rông"
    assert "item:to-tu-quan" not in _ids(Answerer(files, load_intents()).answer(question))[:1]
    item = files.items["to-tu-quan"]
    asked = item.model_copy(update={"questions": Questions(vi=[question])})
    library = type(files)(
        topics=files.topics,
        items={**files.items, item.id: asked},
        hotlines=files.hotlines,
        festival=files.festival,
    )
    assert _ids(Answerer(library, load_intents()).answer(question))[0] == "item:to-tu-quan"


@pytest.mark.usefixtures("_files_served")
def test_the_index_follows_the_library_being_served() -> None:
    files = load_files()
    assert prepare() is prepare(files)
    assert _ids(answer("cách phòng trộm khi đi vắng"))[0] == "item:phong-trom-nha-o"
    items = {k: v for k, v in files.items.items() if k != "phong-trom-nha-o"}
    edited = type(files)(
        topics=files.topics, items=items, hotlines=files.hotlines, festival=files.festival
    )
    install_live(edited)
    assert prepare().library is edited
    assert "item:phong-trom-nha-o" not in _ids(answer("cách phòng trộm khi đi vắng"))


def _figures(answerer: Answerer, name: Part) -> Figures:
    chosen = list(independent_questions()) if name == "independent" else part(name)
    return figures(lambda text: _ids(answerer.answer(text)), chosen)


def test_the_question_set_is_large_enough() -> None:
    answerable = [q for q in questions() if q.expected]
    assert len(answerable) >= 300
    assert len(questions()) - len(answerable) >= 60
    fresh = part("fresh")
    assert len(fresh) >= 50 and sum(not q.expected for q in fresh) >= 20
    known = {f"intent:{i}" for i in INTENTS}
    files = load_files()
    known |= {f"item:{i}" for i in files.items} | {f"topic:{t.id}" for t in files.topics}
    assert set().union(*(q.expected for q in answerable)) <= known


#: What the answers reached when last measured (README "Measured figures"), a little below:
#: a change that loses more than that is a regression.
FLOORS: dict[Part, dict[str, float]] = {
    "tuning": {"top1": 0.95, "top3": 0.98, "declined": 0.98},
    "held_out": {"top1": 0.95, "top3": 0.97, "declined": 0.95},
    "fresh": {"top1": 0.92, "top3": 0.97, "declined": 0.92},
    # ask_independent.yaml, tuned on since the fifth round (README)
    "independent": {"top1": 0.94, "top3": 0.98, "declined": 0.97},
}


@pytest.mark.parametrize("name", ["tuning", "held_out", "fresh", "independent"])
def test_the_figures_do_not_fall(answerer: Answerer, name: Part) -> None:
    reached = _figures(answerer, name)
    floors = FLOORS[name]
    assert reached.top1 >= floors["top1"], reached.misses
    assert reached.top3 >= floors["top3"], reached.misses
    assert reached.declined >= floors["declined"], reached.misses


@pytest.mark.parametrize("name", ["held_out", "fresh", "independent"])
def test_the_issue_bars_on_the_held_out_parts(answerer: Answerer, name: Part) -> None:
    """The bars of issue 20 on the parts first kept out of the tuning (all of them tuned on
    since the fifth round: the unseen measurement is the blind set's)."""
    reached = _figures(answerer, name)
    assert reached.top1 >= 0.90
    assert reached.top3 >= 0.97
    assert reached.declined >= 0.90


def test_a_sure_answer_is_rarely_wrong(answerer: Answerer) -> None:
    def ask(text: str) -> list[tuple[str, float]]:
        return [(f"{a.kind}:{a.id}", a.score) for a in answerer.answer(text)]

    right, wrong = confident(ask, [q for q in questions() if q.held_out], CONFIDENT)
    assert wrong <= 0.05 * (right + wrong)
