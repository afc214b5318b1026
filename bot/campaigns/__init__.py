"""Campaigns: messages propaganda staff send to residents now, at a set time, or on a
recurring rule in local time (for example every Monday of the yearly lead-up to the
"Ngày hội toàn dân bảo vệ an ninh Tổ quốc")."""
