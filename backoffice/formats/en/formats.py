"""Date and time formats for the admin and any {{ value }} left unformatted: ISO-like, with
minutes, and the time zone's name (Django's English default, "Dec. 1, 2026, 4 a.m.", drops both)."""

DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
