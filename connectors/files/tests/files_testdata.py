"""Small real files for the files connector's tests, and the settings that read them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NPS_HEADER = "Response ID,Score,Why?,Submitted At,Email,Company\n"
NPS_ROWS = [
    'R1,9,"Great, fast support",03/01/2026 09:30,ana@acme.com,acme\n',
    "R2,6,Too slow,03/02/2026 14:05,bo@globex.com,globex\n",
    'R3,10,"Line one\nline two",03/03/2026 08:00,cy@acme.com,acme\n',
]
NPS_MORE = [
    "R4,7,,03/04/2026 10:00,di@initech.com,initech\n",
    "R5,8,ok,03/05/2026 11:00,ed@acme.com,acme\n",
]
COSTS = [
    {"team": "cs", "month": "2026-01", "from": "2026-01-01", "to": "2026-01-31", "spend": "$12,345.67",
     "cur": "usd"},
    {"team": "cs-jp", "month": "2026-01", "from": "2026-01-01", "to": "2026-01-31", "spend": "¥1,200",
     "cur": "JPY"},
    {"team": "cs", "month": "2026-02", "from": "2026-02-01", "to": "2026-02-28", "spend": 9000.5, "cur": "USD"},
]
ACCOUNTS = ("Account ID,Company,Website,Segment,CSM,HubSpot ID\n"
            "acme,Acme Corp,acme.com,Enterprise,Jo,101\n"
            "globex,Globex,globex.com,SMB,,102\n")

NPS = {"name": "nps", "path": "nps-*.csv", "table": "survey_responses", "id": "Response ID",
       "columns": {"score": "Score", "comment": "Why?", "responded_at": "Submitted At", "contact_id": "Email",
                   "source_account_id": "Company"},
       "values": {"kind": "nps", "scale_min": 0, "scale_max": 10, "polarity": "higher_better"},
       "date_format": "%m/%d/%Y %H:%M"}
COST = {"name": "costs", "path": "costs.jsonl", "table": "costs", "id": ["team", "month"],
        "columns": {"period_start": "from", "period_end": "to", "amount": "spend", "currency": "cur"},
        "values": {"category": "retention"}}
ACCOUNT = {"name": "accounts", "path": "accounts.csv", "table": "source_accounts", "id": "Account ID",
           "columns": {"name": "Company", "domain": "Website",
                       "attributes": {"segment": "Segment", "owner": "CSM"},
                       "external_ids": {"hubspot": "HubSpot ID"}}}


def settings(*entries: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"base_dir": "imports", "files": [dict(e) for e in (entries or (NPS, COST, ACCOUNT))], **options}


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(text)


def jsonl(rows: list[Any]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def write_standard(folder: Path) -> Path:
    """The survey export, cost sheet and account list every sync test starts from."""
    write(folder, "nps-2026.csv", NPS_HEADER + "".join(NPS_ROWS))
    write(folder, "costs.jsonl", jsonl(COSTS))
    write(folder, "accounts.csv", ACCOUNTS)
    return folder
