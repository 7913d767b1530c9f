"""Crypto and market terms added to VADER's general lexicon, in VADER's valence scale (-4 to +4).

General words of market news, chosen for their meaning in any market headline, never fitted to one
file of headlines. VADER has no stemming, so each word lists its forms. VADER scores single tokens,
so multi-word terms are `PHRASES`: the analyzer rewrites each into one token before scoring.
Bump `TERMS_VERSION` whenever a word or a valence changes: stored scores are keyed by it.
"""

from __future__ import annotations

TERMS_VERSION = "crypto-1"


def _forms(valence: float, *words: str) -> dict[str, float]:
    return dict.fromkeys(words, valence)


WORDS: dict[str, float] = {
    # Security incidents and losses of funds.
    **_forms(-2.5, "hack", "hacks", "hacked", "hacker", "hackers", "hacking"),
    **_forms(-2.3, "exploit", "exploits", "exploited", "steal", "steals", "theft", "thefts"),
    **_forms(-2.0, "drain", "drains", "drained", "breach", "breaches", "breached", "phishing"),
    **_forms(-1.5, "vulnerability", "vulnerabilities", "bug", "bugs"),
    # Exchange and network trouble.
    **_forms(-2.0, "delist", "delists", "delisted", "delisting", "outage", "outages"),
    **_forms(-2.2, "depeg", "depegs", "depegged", "depegging", "insolvent", "insolvency", "bankruptcy"),
    **_forms(-1.5, "halt", "halts", "halted", "suspends", "suspended", "freezes", "froze", "frozen", "downtime"),
    **_forms(-1.5, "delay", "delays", "delayed", "postpone", "postpones", "postponed", "default", "defaults"),
    **_forms(-1.8, "liquidation", "liquidations", "liquidated", "layoffs"),
    # Law and regulation.
    **_forms(-2.0, "lawsuit", "lawsuits", "crackdown", "indicted", "indictment"),
    **_forms(-1.8, "sue", "sues", "sued", "suing", "sanction", "sanctions", "sanctioned", "subpoena"),
    **_forms(-1.5, "fine", "fines", "fined", "charged", "sentenced"),
    **_forms(-1.2, "probe", "probes", "investigation", "investigations", "warn", "warns"),
    **_forms(-2.2, "ban", "bans", "banned", "banning"),
    **_forms(-2.7, "scam", "scams", "scammer", "scammers", "ponzi", "fraudulent"),
    # Prices going down.
    **_forms(-2.8, "crash", "crashes", "crashed", "crashing", "plummet", "plummets", "plummeted", "plummeting"),
    **_forms(-2.4, "plunge", "plunges", "plunged", "plunging", "tank", "tanks", "tanked", "tanking"),
    **_forms(-2.2, "tumble", "tumbles", "tumbled", "tumbling", "slump", "slumps", "slumped", "slumping"),
    **_forms(-1.6, "sink", "sinks", "sank", "sinking", "slide", "slides", "slid", "sliding"),
    **_forms(-1.5, "drop", "drops", "dropped", "dropping", "fall", "falls", "fell", "falling"),
    **_forms(-1.4, "decline", "declines", "declined", "declining", "slip", "slips", "slipped", "slipping"),
    **_forms(-1.0, "dip", "dips", "dipped", "dipping"),
    **_forms(-2.0, "bearish"),
    **_forms(-1.8, "dump", "dumps", "dumped", "dumping"),
    **_forms(-1.5, "outflow", "outflows"),
    # Prices going up.
    **_forms(2.5, "soar", "soars", "soared", "soaring"),
    **_forms(2.2, "rally", "rallies", "rallied", "rallying", "surge", "surges", "surged", "surging"),
    **_forms(1.6, "jump", "jumps", "jumped", "jumping", "rebound", "rebounds", "rebounded", "rebounding"),
    **_forms(1.5, "recover", "recovers", "recovered", "recovering", "recovery", "gained", "breakout"),
    **_forms(1.3, "climb", "climbs", "climbed", "climbing", "rise", "rises", "rose", "rising"),
    **_forms(1.8, "outperform", "outperforms", "outperformed", "outperforming"),
    **_forms(2.0, "bullish"),
    **_forms(1.5, "inflow", "inflows"),
    # Growth of the market and its networks.
    **_forms(1.8, "approve", "approves", "greenlight", "greenlights", "greenlighted"),
    **_forms(1.6, "adoption", "milestone", "milestones"),
    **_forms(1.4, "partnership", "partnerships", "partners", "partnered"),
    **_forms(1.3, "upgrade", "upgrades", "upgraded", "expands", "expanded", "expansion"),
    **_forms(1.0, "launch", "launches", "launched", "adopts", "adopted", "raises"),
    **_forms(0.6, "halving"),
}

# Written with single spaces; the analyzer also matches hyphens or no space between the words.
PHRASES: dict[str, float] = {
    "all time high": 2.8,
    "all time highs": 2.8,
    "record high": 2.3,
    "record highs": 2.3,
    "new high": 2.0,
    "new highs": 2.0,
    "all time low": -2.5,
    "all time lows": -2.5,
    "record low": -2.3,
    "record lows": -2.3,
    "etf approval": 2.5,
    "bull market": 2.0,
    "bull run": 2.2,
    "golden cross": 1.8,
    "short squeeze": 1.5,
    "rate cut": 1.2,
    "rate cuts": 1.2,
    "to the moon": 2.0,
    "rug pull": -3.0,
    "rug pulls": -3.0,
    "exit scam": -3.0,
    "ponzi scheme": -3.0,
    "pump and dump": -2.5,
    "sell off": -2.2,
    "sell offs": -2.2,
    "flash crash": -2.8,
    "bank run": -2.5,
    "bear market": -2.0,
    "death cross": -1.8,
    "margin call": -1.8,
    "margin calls": -1.8,
    "rate hike": -1.2,
    "rate hikes": -1.2,
    "class action": -1.5,
    "cease and desist": -2.0,
    "wiped out": -2.3,
    "double spend": -2.0,
}
