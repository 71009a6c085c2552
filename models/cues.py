"""Codebook cues: the vocabulary of the codebook's definitions and decision rules as features.

A small encoder trained on text written for this project learns the seed text's surface: on
real commentary it tags anything nuclear as deterrence and any passage naming Hamas as
terrorism. The codebook says which words point towards a theme and which point away from it
(rule 6: IAEA, enrichment and the nuclear deal are nonproliferation, not deterrence; rule 12:
rockets, front lines and militias are a war, not terrorism; rule 14: digital trade is not
cyber). Each group below is one such family of words; a passage's features are, per group,
how often the group's terms occur and how many different terms occur (log-scaled). The
classifier appends them to the sentence embedding, so a logistic regression can learn, for
example, that nonproliferation terms without force-posture terms argue against deterrence.

Groups are data: a new theme's cues are a new entry. Patterns are case-insensitive regular
expressions; keep them to words a labeller would point at when explaining a decision.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

CUES: dict[str, tuple[str, ...]] = {
    # deterrence and what it is not (definition; rules 2, 3, 4, 6, 7, 13)
    "deter_word": (r"\bdeterr?(en\w*|s|ed|ing)?\b", r"\bdissua\w*"),
    "nuclear_forces": (r"nuclear (posture|doctrine|forces?|arsenals?|weapons?|warheads?|umbrella|threats?|signall?ing|strike|use|war|deterrent|capab\w*|triad|sharing)",
                       r"\bwarheads?\b", r"\bicbms?\b", r"\bslbms?\b", r"\btriad\b", r"\bbombers?\b",
                       r"sentinel|minuteman|trident|sarmat|poseidon|burevestnik", r"tactical nuclear|non-?strategic nuclear|low-yield"),
    "stability": (r"strategic stability", r"second[- ]strike", r"first[- ]strike", r"\bescalat\w*", r"mutual(ly)? (assured|vulnerab\w*)",
                  r"no[- ]first[- ]use", r"counterforce", r"launch on warning", r"arms race", r"survivab\w*", r"assurance",
                  r"extended deterrence", r"credib\w*"),
    "arms_treaties": (r"new start", r"\binf\b", r"\bsalt\b", r"\babm\b", r"arms control", r"\btreaty\b"),
    "nonproliferation": (r"\biaea\b", r"enrich\w*", r"centrifuge\w*", r"\bjcpoa\b|nuclear deal|joint comprehensive", r"safeguards?",
                         r"inspect\w*", r"\bnpt\b|non-?proliferation", r"denucleari\w*", r"snapback", r"\buranium\b", r"\bheu\b|\bleu\b",
                         r"\breactors?\b", r"fissile", r"natanz|fordow|yongbyon|isfahan", r"breakout",
                         r"nuclear (energy|power|plants?|fuel|programme|program)"),
    "nuclear_security": (r"nuclear security", r"dirty bomb|radiological", r"nuclear terror\w*", r"nuclear (material|smuggling)"),
    "conventional_posture": (r"forward (presence|deploy\w*|forces?)|brigades?|troops? (in|on)", r"\bdeny\b|denial|invasion|blockade",
                             r"taiwan|baltic|korean peninsula|eastern flank"),
    "other_deterring": (r"migrants?|asylum|border", r"investors?|markets?|prices?|tariffs?|\btrade\b", r"arms sales?|sale of"),
    # missile defense and what it is not (definition; rules 3, 5, 12)
    "missile_defense": (r"missile defen[cs]e", r"\bbmd\b|\bnmd\b|\bgmd\b|\biamd\b", r"interceptors?", r"\baegis\b", r"\bthaad\b", r"patriot",
                        r"iron dome|david'?s sling|\barrow[- ]?[23]?\b", r"\bsm-[236]\b|standard missile", r"golden dome|phased adaptive|\bepaa\b",
                        r"\bs-[345]00\b", r"midcourse|boost[- ]phase|terminal phase|glide phase"),
    "interception": (r"intercept\w*", r"shoot (them )?down|shot down", r"\bradars?\b", r"air (and|&) missile defen[cs]e|air defen[cs]e"),
    "offensive_missiles": (r"missile tests?|test[- ]fir\w*|test launch\w*", r"ballistic missiles?", r"hypersonic", r"cruise missiles?",
                           r"satellite launch|space launch|launch vehicle|\brockets?\b"),
    # cyber and what it is not (definition; rules 2, 9, 10, 11, 14)
    "cyber_operations": (r"cyber\w*", r"hack\w*", r"ransomware", r"malware|wiper|botnet", r"intrusion\w*", r"zero[- ]day", r"spyware|pegasus",
                         r"phishing", r"\bddos\b|denial[- ]of[- ]service",
                         r"solarwinds|notpetya|stuxnet|wannacry|volt typhoon|salt typhoon|colonial pipeline"),
    "surveillance": (r"surveillance", r"snowden", r"\bnsa\b", r"section 702|\bfisa\b", r"encrypt\w*|going dark|lawful access|backdoor",
                     r"intercepts\b|signals intelligence|sigint|metadata"),
    "cyber_policy": (r"persistent engagement|defend forward", r"attribut\w*", r"critical infrastructure", r"\bcisa\b|cybercom|cyber command",
                     r"breach\w*", r"vulnerabilit\w*", r"networks?"),
    "digital_economy": (r"digital (trade|economy|services|markets?|public|platforms?|tax)", r"e-commerce|ecommerce", r"data (flows?|locali[sz]ation|protection)",
                        r"fintech|cryptocurrenc\w*|stablecoin|\bcbdc", r"semiconductor\w*|chips?\b", r"artificial intelligence|\bai\b",
                        r"platforms?\b|tech (firms|companies|giants)"),
    "disinformation": (r"disinformation|misinformation", r"propaganda", r"influence operations?|information operations?", r"troll\w*|bots?\b",
                       r"social media", r"interference"),
    # counterterrorism and what it is not (definition; rules 7, 8, 10, 12)
    "terrorism": (r"terror\w*", r"counter-?terror\w*", r"\bisis\b|\bisil\b|islamic state|daesh|\biskp?\b|\biswap\b", r"al[- ]qa[e']?ida|\baqap\b|\baqim\b",
                  r"al[- ]shabaab|boko haram|\bjnim\b|lashkar|jaish|\bttp\b", r"jihad\w*", r"extremis\w*", r"radicali[sz]\w*", r"foreign fighters?",
                  r"suicide (bomb\w*|attack\w*)", r"\bplots?\b|attackers?"),
    "counterterrorism_tools": (r"designat\w*|\bfto\b", r"terrorist financing|financing of terrorism|\bfatf\b", r"\bcve\b|deradicali\w*",
                               r"drone strikes?|targeted killing", r"watch ?list", r"civilians?"),
    "armed_groups": (r"hamas|hezbollah|houthis?|taliban|militia\w*|\bpkk\b|wagner",),
    "war": (r"\bwar\b", r"front ?lines?|offensive|counteroffensive|ceasefire|shelling|artillery|troops", r"insurgen\w*|rebels?|civil war|\brsf\b|coup"),
    "crime": (r"crim\w*|cartels?|gangs?|trafficking|smuggl\w*|narco\w*",),
    # broad words: their presence without the specific groups is itself a signal (rule 1)
    "nuclear_any": (r"nuclear",),
    "missile_any": (r"missiles?",),
}


class CueFeatures:
    """Map texts to cue features: per group, log(1 + matches) and log(1 + distinct terms matched).

    >>> CueFeatures().transform(["IAEA inspectors returned to Natanz."]).shape[1] == 2 * len(CUES)
    True
    """

    def __init__(self, cues: dict[str, tuple[str, ...]] | None = None):
        self.cues = cues or CUES
        self.names = list(self.cues)
        self._patterns = [[re.compile(p, re.IGNORECASE) for p in self.cues[g]] for g in self.names]

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        n = len(self.names)
        out = np.zeros((len(texts), 2 * n), dtype=np.float32)
        for i, text in enumerate(texts):
            for g, patterns in enumerate(self._patterns):
                counts = [len(p.findall(text)) for p in patterns]
                out[i, g] = np.log1p(sum(counts))
                out[i, n + g] = np.log1p(sum(c > 0 for c in counts))
        return out
