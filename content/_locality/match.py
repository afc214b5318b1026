"""Find commune mentions in a text and score today's communes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from .data import DIST, FOREIGN, NEW, OLD, PROV, Index
from .text import Tokens, marker_level, tokenize

THRESHOLD = 0.5
_KNEE = 0.95
_MAX_WORDS = 80  # only the first words of a long message are searched

# How well a name fits the type word written before it, per kind of name:
# (no type word, same type, other commune-level type, district-level, province-level)
_COMPAT = {
    NEW: (0.90, 1.00, 0.90, 0.55, 0.40),
    OLD: (0.87, 0.97, 0.85, 0.50, 0.40),
    DIST: (0.62, 0.80, 0.35, 0.76, 0.40),
}


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    entities: frozenset[int]
    q: float  # spelling quality, 1.0 = exact
    marker: str | None  # type word right before the name
    quality: tuple[tuple[int, float], ...]  # (entity, spelling quality)

    def q_of(self, entity: int) -> float:
        return next(q for e, q in self.quality if e == entity)


def _allowed_edits(length: int, marker: bool) -> int:
    if length <= 3:
        return 0
    if length <= 5:
        return 1 if marker else 0
    return 1 if length <= 11 else 2


def _near(index: Index, spaced: bool, length: int, k: int) -> list[str]:
    cache = index.near_cache
    key = (spaced, length, k)
    found = cache.get(key)
    if found is None:
        by_len = index.spaced_by_len if spaced else index.joined_by_len
        found = [a for n in range(length - k, length + k + 1) for a in by_len.get(n, ())]
        cache[key] = found
    return found


def _word_edits(parts: list[str], alias: str) -> int:
    """Edits word by word, at most one per word and none in a one-letter word ("a" is not "pa")."""
    words = alias.split(" ")
    if len(words) != len(parts):
        return 99
    total = 0
    for a, b in zip(parts, words, strict=True):
        d = int(OSA.distance(a, b))
        if d > max(1, (max(len(a), len(b)) - 1) // 2) or (d and min(len(a), len(b)) < 2):
            return 99
        total += d
    return total


def _first_letters_agree(parts: list[str], alias: str) -> bool:
    return all(p[:1] == w[:1] for p, w in zip(parts, alias.split(" "), strict=False))


Found = dict[tuple[int, int], dict[int, float]]  # word span -> {entity: quality}


def _windows(index: Index, toks: Tokens) -> Found:
    words = toks.words
    n = len(words)
    found: Found = {}
    for i in range(n):
        if toks.no_start[i] or toks.barrier[i]:
            continue
        marker = i > 0 and toks.marker_end[i - 1] is not None
        parts: list[str] = []
        for j in range(i, min(n, i + index.max_words + 1)):
            if (j > i and toks.seg_start[j]) or (
                toks.barrier[j] and not (j > i and words[j] in index.inner_words)
            ):
                break
            parts.append(words[j])
            if toks.no_end[j]:
                continue
            text = " ".join(parts)
            spaced = j > i
            table = index.spaced if spaced else index.joined
            exact = table.get(text)
            if exact:
                found[(i, j + 1)] = dict.fromkeys(exact, 1.0)
                continue
            length = len(text) - (j - i)
            k = _allowed_edits(length, marker)
            if k == 0:
                continue
            hits = process.extract(
                text,
                _near(index, spaced, len(text), k),
                scorer=OSA.distance,
                score_cutoff=k,
                limit=None,
            )
            if spaced:
                # Same number of words, edits counted word by word: "son gan" is
                # not a misspelling of "song an".
                hits = [(a, _word_edits(parts, a), 0) for a, _, _ in hits]
            if not marker:
                # Without a type word, only trust slips after the first letters
                # ("thu tuc" is not "Phú Túc").
                hits = [h for h in hits if _first_letters_agree(parts, h[0])]
            quality: dict[int, float] = {}
            for alias, dist, _ in hits:
                if dist > k:
                    continue
                q = max(0.6, 1.0 - 1.2 * dist / max(length, 1))
                if alias[:1] != text[:1]:
                    q -= 0.02  # slips rarely hit the first letter
                for e in table[alias]:
                    quality[e] = max(q, quality.get(e, 0.0))
            if quality:
                found[(i, j + 1)] = quality
    return found


def find_mentions(index: Index, toks: Tokens) -> list[Mention]:
    found = _windows(index, toks)
    spans = sorted(found, key=lambda s: (s[0], -s[1]))
    best = {span: max(found[span].values()) for span in spans}

    def marker_of(span: tuple[int, int]) -> str | None:
        return toks.marker_end[span[0] - 1] if span[0] > 0 else None

    kept: list[Mention] = []
    for span in spans:
        q = best[span]
        # A longer name that covers this span (and is spelled about as well) wins:
        # "quy nhon dogn" is Quy Nhơn Đông misspelt, not Quy Nhơn.
        if any(
            o[0] <= span[0] and span[1] <= o[1] and o != span and best[o] >= q - 0.2 for o in spans
        ):
            continue
        marker = marker_of(span)
        # Names are read left to right: in "tp quy nhon binh dinh" or
        # "an nhon binh dinh", "nhon binh" is not a name.
        if marker is None and any(o.start < span[0] < o.end for o in kept):
            continue
        quality = found[span]
        kept.append(
            Mention(span[0], span[1], frozenset(quality), q, marker, tuple(sorted(quality.items())))
        )
    return kept


def _compat(kind: str, types: frozenset[str], marker: str | None) -> float:
    table = _COMPAT[kind]
    if marker is None:
        return table[0]
    if marker in types:
        return table[1]
    level = marker_level(marker)
    return table[2] if level == "ward" else table[3] if level == "district" else table[4]


def score(index: Index, text: str) -> list[tuple[int, float]]:
    """(commune code, score) pairs, best first, scores >= THRESHOLD."""
    toks = tokenize(text)
    if len(toks.words) > _MAX_WORDS:
        toks = tokenize(" ".join(toks.words[:_MAX_WORDS]))
    mentions = find_mentions(index, toks)
    if not mentions:
        return []
    ents = index.entities

    def kinds(m: Mention) -> set[str]:
        return {ents[e].kind for e in m.entities}

    own_provinces: set[str] = set()
    foreign = False
    districts: list[tuple[Mention, str, bool]] = []  # (mention, district key, typed)
    for m in mentions:
        ks = kinds(m)
        lvl = marker_level(m.marker)
        if m.q >= 0.8 and lvl != "ward":
            for e in m.entities:
                ent = ents[e]
                if ent.kind == PROV and ent.province:
                    own_provinces.add(ent.province)
                elif ent.kind == DIST and ent.district:
                    districts.append((m, ent.district, lvl == "district"))
        if m.q == 1.0 and FOREIGN in ks and not ks & {NEW, OLD, DIST, PROV} and lvl != "ward":
            foreign = True

    n = len(toks.words)
    covered = [False] * n
    for m in mentions:
        for i in range(m.start, m.end):
            covered[i] = True
    # words that are neither part of a name nor a type word
    noise = [
        not (covered[i] or toks.marker_end[i] or toks.barrier[i] or toks.no_start[i])
        for i in range(n)
    ]
    local = [m for m in mentions if kinds(m) & {NEW, OLD, DIST}]

    def apart(a: Mention, b: Mention) -> bool:
        return a.end <= b.start or b.end <= a.start

    # Pass 1: raw scores of precise names (today's and old communes), and which
    # district mentions only give context to one of them.
    specific: list[tuple[Mention, int, float]] = []
    context_mentions: set[int] = set()
    for m in mentions:
        bare = m.marker is None
        whole = not any(noise[i] for i in range(n) if not m.start <= i < m.end)
        later = bare and any(o.end <= m.start for o in local if o is not m)
        # Context comes after the name: "xã Phước Sơn, huyện Tuy Phước".
        others = [(dm, d, typed) for dm, d, typed in districts if dm.start >= m.end]
        for e in m.entities:
            ent = ents[e]
            if ent.kind not in (NEW, OLD):
                continue
            base = m.q_of(e) * _compat(ent.kind, ent.types, m.marker)
            if bare and m.end - m.start == 1 and not whole:
                base *= 0.5  # a lone word in a sentence ("gạo", "trang") is weak
            if later:
                base -= 0.08  # addresses go from small to large
            if ent.kind == OLD:
                agree = [dm for dm, d, _ in others if d == ent.district]
                if agree:
                    base += 0.12
                elif others:  # another district named: probably not this ward
                    base -= 0.2 if any(t for _, _, t in others) else 0.15
                if ent.province in own_provinces:
                    base += 0.03
                targets = ent.targets
            else:
                targets = ent.targets
                agree = [dm for dm, d, _ in others if targets[0] in index.dist_members.get(d, ())]
                if agree:
                    base += 0.05
                elif any(t for _, _, t in others):
                    base -= 0.1
                if own_provinces:
                    base += 0.03
            if agree and base >= THRESHOLD:
                context_mentions.update(id(dm) for dm in agree)
            for rank, code in enumerate(targets):
                specific.append((m, code, base - 0.02 * rank))

    scores: dict[int, float] = {}

    def put(code: int, value: float) -> None:
        if value > scores.get(code, 0.0):
            scores[code] = value

    # A bare name that also names an own province or a district used as context
    # ("..., Tây Sơn", "..., Bình Định") is mostly that context.
    for m, code, value in specific:
        if m.marker is None and (
            id(m) in context_mentions
            or (own_provinces and PROV in kinds(m) and any(o.end <= m.start for o in local))
        ):
            value -= 0.15
        put(code, value)

    # Pass 2: districts spread over their communes, weaker when only context.
    for m in mentions:
        for e in m.entities:
            ent = ents[e]
            if ent.kind != DIST:
                continue
            base = m.q_of(e) * _compat(DIST, ent.types, m.marker)
            if id(m) in context_mentions:
                base *= 0.7
            for rank, code in enumerate(ent.targets):
                put(code, base - (0.01 if rank else 0.0))

    if foreign and not own_provinces:
        scores = {c: v * 0.5 for c, v in scores.items()}
    ranked = sorted(scores.items(), key=lambda cv: (-cv[1], cv[0]))
    return [(c, _squash(v)) for c, v in ranked if v >= THRESHOLD]


def _squash(raw: float) -> float:
    """Map raw scores (bonuses can push them past 1) monotonically into 0..1."""
    if raw <= _KNEE:
        return round(max(raw, 0.0), 3)
    return round(_KNEE + (1.0 - _KNEE) * (1.0 - math.exp(-(raw - _KNEE) * 8.0)), 3)
