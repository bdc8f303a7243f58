"""Word lists and small generators for the simulated company's customers and people."""
from __future__ import annotations

import hashlib
import random

BRAND_A = """North Blue Iron Silver Bright Red Green Swift Clear Summit Harbor Pine Maple Cedar Stone
Golden Nova Apex Lunar Solar Ember Falcon Cobalt Copper Granite Willow Aspen Orchid Beacon Vertex
Meridian Atlas Orbit Pioneer Keystone Riverside Lakeside Highland Crimson Indigo Sterling Tidal""".split()
BRAND_B = """wind stone field bridge point gate wave peak light forge works path line crest ridge brook
haven port spring star vale mark grove rock""".split()
BRAND_C = """Labs Systems Analytics Logistics Health Foods Robotics Media Partners Dynamics Software Energy
Studios Networks Freight Retail Learning Bio Security Cloud Payments Travel Mobility Insights""".split()
# Billing names of the few customers invoiced under an unrelated legal entity.
HOLDING = """Aurelian Halvorsen Brightman Castellan Dunmore Everly Fairhaven Galloway Hartwell Ingram
Kessler Lindqvist Marchetti Northcote Oakridge Prescott""".split()
LEGAL = {"US": "Inc.", "CA": "Inc.", "GB": "Ltd", "AU": "Ltd", "DE": "GmbH", "FR": "SAS", "NL": "B.V.",
         "IE": "Ltd", "SE": "AB"}
INDUSTRIES = ["software", "financial_services", "healthcare", "retail", "manufacturing", "education",
              "logistics", "media", "professional_services", "real_estate"]
COUNTRIES = [("US", 44), ("GB", 12), ("CA", 7), ("AU", 5), ("DE", 12), ("FR", 9), ("NL", 6), ("IE", 3),
             ("SE", 2)]
EUR_COUNTRIES = ("DE", "FR", "NL", "IE")
VAT = {"DE": 19, "FR": 20, "NL": 21, "IE": 23}
FIRST = """Olivia Liam Emma Noah Ava Elijah Sophia Lucas Mia Mateo Amelia Levi Harper Ethan Isla Leo Chloe
Jonas Lena Felix Clara Hugo Manon Louis Sanne Daan Fleur Arjun Priya Wei Mei Kenji Aiko Omar Layla
Samir Nadia Diego Lucia Tomas Ingrid Erik Astrid Grace Owen Ruby Jack Zoe Ryan Maya Nora Adam""".split()
LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Martin Taylor Wilson Clarke Walker Wright
Hughes Evans Muller Schmidt Schneider Fischer Weber Meyer Dubois Bernard Moreau Laurent Leroy Jansen
Visser Bakker Smit Patel Shah Chen Wang Tanaka Sato Haddad Nasser Rossi Silva Lindberg Nilsson Murphy
Kelly OBrien Novak Kowalski Young King""".split()
TITLES = ["Head of Operations", "VP Customer Success", "CFO", "Engineering Manager", "Product Manager",
          "Office Manager", "CTO", "Data Analyst", "COO", "IT Administrator", "Finance Manager",
          "Director of Support"]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com"]
TLDS = {"DE": ".de", "FR": ".fr", "NL": ".nl", "GB": ".co.uk", "AU": ".com.au", "SE": ".se"}
FEATURES = ["dashboards", "reports", "alerts", "integrations", "api", "exports", "playbooks", "segments",
            "automations", "admin"]
# The simulated vendor's own staff.
OWNERS = [("7001", "Maya", "Chen", "smb"), ("7002", "Jonas", "Weber", "smb"), ("7003", "Priya", "Patel", "smb"),
          ("7004", "Daniel", "Okafor", "mid_market"), ("7005", "Sofia", "Rossi", "mid_market"),
          ("7006", "Grace", "Lindqvist", "enterprise"), ("7007", "Marcus", "Hale", "enterprise")]
AGENTS = [(9101, "Ana Lima"), (9102, "Ben Carter"), (9103, "Chloe Dubois"), (9104, "Dev Sharma"),
          (9105, "Emil Novak"), (9106, "Fatima Zahra")]
GROUPS = [(8201, "Support"), (8202, "Billing"), (8203, "Technical"), (8204, "Onboarding")]
VENDOR_DOMAIN = "brightwave.example"


def digest(*parts: object) -> int:
    """A stable integer from the parts (independent of PYTHONHASHSEED and of draw order)."""
    return int.from_bytes(hashlib.sha1("|".join(map(str, parts)).encode()).digest()[:8], "big")


def token(*parts: object, length: int = 14) -> str:
    """A stable alphanumeric id suffix (Stripe-like)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n, out = int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:24], 16), []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(alphabet[r])
    return "".join(out)


def number(digits: int, *parts: object) -> int:
    """A stable integer with exactly `digits` digits."""
    low = 10 ** (digits - 1)
    return low + digest(*parts) % (9 * low)


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def brand(rng: random.Random) -> tuple[str, str]:
    """A company brand name and its web-domain stem: ("Northwind Labs", "northwindlabs")."""
    a, b, c = rng.choice(BRAND_A), rng.choice(BRAND_B), rng.choice(BRAND_C)
    if rng.random() < 0.5:
        head = a + b
        return f"{head} {c}", (head + c).lower()
    return f"{a} {c}", f"{a}{c}".lower() if rng.random() < 0.5 else f"{a}-{c}".lower()


def domain_for(stem: str, country: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.6:
        return stem + ".com"
    if r < 0.8:
        return stem + TLDS.get(country, ".io")
    return stem + rng.choice([".io", ".co", ".ai"])


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def variant(name: str, country: str, style: int) -> str:
    """The same company as another system spells it (identity must see through this)."""
    legal = LEGAL.get(country, "Inc.")
    return [name, f"{name}, {legal}", name.upper(), f"{name} {legal.rstrip('.')}", name.lower()][style % 5]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth; the rates here are small)."""
    if lam <= 0:
        return 0
    limit, k, p = pow(2.718281828459045, -lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def owner_record(owner: tuple[str, str, str, str]) -> dict[str, str]:
    oid, first, last, _ = owner
    return {"id": oid, "firstName": first, "lastName": last,
            "email": f"{first}.{last}@{VENDOR_DOMAIN}".lower()}
