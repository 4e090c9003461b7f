"""The shipped watched sources: the real services' URLs, loaded by
`python manage.py load_watch_sources` (make run does it after the dataset).
Editors change, disable or add sources in the admin; a later load only adds
sources missing by name and fills a jurisdiction or regulator left empty."""

from __future__ import annotations

_FR = (
    "https://www.federalregister.gov/api/v1/documents.json?conditions[term]={term}"
    "&conditions[agencies][]=food-and-drug-administration&conditions[agencies][]=drug-enforcement-administration"
    "&conditions[agencies][]=health-and-human-services-department&order=newest&per_page=50"
)
_CTGOV = "https://clinicaltrials.gov/api/v2/studies?query.intr={term}&sort=LastUpdatePostDate:desc&pageSize=100"

SHIPPED_SOURCES: list[dict] = [
    *(
        {
            "name": f"Federal Register: {term}",
            "adapter": "federal_register",
            "url": _FR.format(term=term),
            "jurisdiction": "us",
            "regulator": "",
            "poll_minutes": 720,
        }
        for term in ("psilocybin", "MDMA", "midomafetamine", "psychedelic")
    ),
    {
        "name": "FDA press releases",
        "adapter": "feed",
        "jurisdiction": "us",
        "regulator": "fda",
        "poll_minutes": 60,
        "url": "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/press-releases/rss.xml",
    },
    {
        "name": "EMA news",
        "adapter": "feed",
        "jurisdiction": "eu",
        "regulator": "ema",
        "poll_minutes": 120,
        "url": "https://www.ema.europa.eu/en/news.xml",
    },
    *(
        {
            "name": f"GOV.UK news: {term}",
            "adapter": "feed",
            "jurisdiction": "gb",
            "regulator": "",
            "poll_minutes": 360,
            "url": f"https://www.gov.uk/search/news-and-communications.atom?keywords={term}",
        }
        for term in ("psilocybin", "MDMA")
    ),
    *(
        {
            "name": f"ClinicalTrials.gov: {term}",
            "adapter": "clinicaltrials",
            "url": _CTGOV.format(term=term),
            "jurisdiction": "",
            "regulator": "",
            "poll_minutes": 1440,
        }
        for term in ("MDMA", "psilocybin")
    ),
    {
        "name": "TGA news (page)",
        "adapter": "page",
        "jurisdiction": "au",
        "regulator": "tga",
        "poll_minutes": 720,
        "url": "https://www.tga.gov.au/news/news",
    },
]
