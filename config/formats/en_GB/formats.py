"""Dates are typed as YYYY-MM-DD: the admin's calendar writes the first input
format, and 09/08/2024 reads as two different days to editors on either side
of the Atlantic. Everything not set here is Django's en_GB."""

DATE_INPUT_FORMATS = ["%Y-%m-%d"]
DATETIME_INPUT_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M"]
