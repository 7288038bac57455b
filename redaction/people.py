"""People, organisations and street addresses in screen text, titles and typed text, where a
model alone is weak: OCR fragments without sentences.

Four kinds of evidence, each its own detector name in the report:
- `lexicon`: two to four capitalised words that read as a name (census first and last names,
  or words no English dictionary knows), e.g. a mail list's sender cell "Sam Okafor";
- `layout`: a name where the layout says one stands: `From:`/`To:`/`Cc:`, `Author:` in git
  log, greetings and signatures, "Name <address>", chat author lines before a time,
  "… wrote:", a line that is nothing but a first name;
- `org`: capitalised words before a legal form (Inc, LLC, GmbH, S.A., sp. z o.o. …), and
  "Smith, Jones and Brown";
- `address`: street addresses in the common national forms (number + street + suffix,
  "Hauptstraße 5", "12, rue de la Paix", "Via Roma 3", "ul. Kwiatowa 7/2") and postcode + town.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .findings import Finding
from .lexicon import MISREAD_LETTER, Lexicon, misreadable, strip_accents


def _unaccented(alternatives: str) -> str:
    """A regex alternation plus each alternative without its accents (an English OCR model reads
    "Área" as "Area" and "Cañada" as "Canada") and with any one or two letters for each letter
    outside ASCII (it reads "vägen" as "végen", "Cañada" as "Cafiada", "Straße" as "StraRe")."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(alternatives):  # split at the top level only: groups have "|" inside
        depth += (c == "(") - (c == ")") if alternatives[i - 1:i] != "\\" else 0
        if c == "|" and depth == 0:
            out.append(alternatives[start:i])
            start = i + 1
    out.append(alternatives[start:])
    for alt in list(out):
        plain = strip_accents(alt)
        if plain != alt and plain not in out:
            out.append(plain)
        if any(misreadable(c) for c in alt):  # "Cañada" read as "Cafiada", "Straße" as "StraRe"
            out.append("".join(MISREAD_LETTER if misreadable(c) else c for c in alt))
    return "|".join(dict.fromkeys(out))

# words of interfaces and products that are also names or look like them
UI_WORDS = frozenset("""
inbox outbox sent drafts draft spam trash archive archived starred important unread read settings preferences
options account accounts profile help about home search filter filters sort compose reply forward delete edit view
new open close save cancel submit send done next previous back menu file tools window tab tabs today yesterday
tomorrow calendar contacts contact people chat chats channel channels message messages mail email notifications
dashboard overview issues issue pull pulls request requests code commits commit branches branch tags releases
actions projects project wiki security insights labels milestones reviewers assignees assignee author reviewer
status priority type summary description title subject date time from to cc bcc attachments attachment meeting
meetings event events invite invitation accept decline maybe tentative organizer attendees location room
all none more less show hide mark select clear refresh sync upload download share export import print copy paste
undo redo zoom fit page pages sheet sheets cell cells row rows column columns total sum average formula data
monday tuesday wednesday thursday friday saturday sunday january february march april may june july august september
october november december am pm utc mon tue wed thu fri sat sun jan feb mar apr jun jul aug sep sept oct
nov dec where when dial dial-in
chrome chromium firefox safari edge slack teams zoom outlook gmail github gitlab bitbucket jira confluence notion
owntrace figma trello asana linux ubuntu debian windows macos android iphone ipad google microsoft apple amazon
terminal xterm bash shell vim emacs python java rust docker kubernetes git log merge merged approved approve
changes requested comment comments commented review reviewed opened closed re fw fwd aw wg tr
tel phone mobile fax invoice order receipt payment quote offer contract welcome thanks hello
""".split())
PARTICLES = frozenset("van von der den de del della dei di da das dos du la le bin ibn al el ten ter zu y e".split())
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*")
_GAP = re.compile(r"^ {1,3}$")


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    text: str

    @property
    def capitalised(self) -> bool:
        t = self.text
        return t[0].isupper() and (len(t) == 1 or any(c.islower() for c in t[1:]))


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def _chains(text: str, toks: list[_Tok]) -> list[list[_Tok]]:
    """Runs of capitalised words (particles like "van der" inside), separated by spaces only."""
    chains: list[list[_Tok]] = []
    cur: list[_Tok] = []
    for t in toks:
        joined = cur and _GAP.match(text[cur[-1].end:t.start])
        if t.capitalised or (joined and t.text.lower() in PARTICLES):
            if cur and not joined:
                chains.append(cur)
                cur = []
            cur.append(t)
        else:
            if cur:
                chains.append(cur)
            cur = []
    if cur:
        chains.append(cur)
    # a chain does not end on a particle
    return [c[: max(i + 1 for i, t in enumerate(c) if t.capitalised)] for c in chains]


class People:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lex = lexicon

    # ---- word classes ---------------------------------------------------------------------

    def _parts(self, w: str) -> list[str]:
        return [p for p in re.split(r"[\-'’]", w) if p]

    def is_ui(self, w: str) -> bool:
        return w.lower() in UI_WORDS

    def lexical(self, w: str) -> bool:
        """A census first or last name (a hyphenated word: any part)."""
        return any(self.lex.is_first(p) or self.lex.is_last(p) for p in self._parts(w))

    def name_like(self, w: str) -> bool:
        if w.lower() in STREET_WORDS:
            return False
        if self.lex.is_loose(w) and not (self.lex.is_first(w) or self.lex.is_frequent_last(w)):
            return False  # "Personal", "Never": an adjective or adverb that is also a rare surname
        if self.is_ui(w) or w.lower() in PARTICLES:
            return w.lower() in PARTICLES
        return self.lexical(w) or not any(self.lex.is_common(p) for p in self._parts(w))

    def strong(self, w: str) -> bool:
        """A name that is no verb, adjective or adverb: "Jordan", "Okafor", not "Will", "Young"."""
        return self.lexical(w) and not self.is_ui(w) and not any(self.lex.is_loose(p) for p in self._parts(w))

    def first_name(self, w: str) -> bool:
        return (not self.is_ui(w) and any(self.lex.is_first(p) for p in self._parts(w))
                and not any(self.lex.is_loose(p) for p in self._parts(w)))

    def leads(self, w: str, nxt: str) -> bool:
        """An interface word that is also a first name ("April", "Mark") before a surname that is
        no verb or adjective: "April Rodriguez", not "Mark Read"."""
        return self.is_ui(w) and self.lex.is_first(w) and self.strong(nxt)

    def grow(self, text: str, start: int, end: int) -> tuple[int, int]:
        """A span widened over the name words next to it: the model often tags one word of a
        name it does not know ("Piero" of "Piero Trebbi", "van Soest" of "Ise van Soest")."""
        toks = _tokens(text)
        inside = [k for k, t in enumerate(toks) if start <= t.start and t.end <= end]
        if not inside:
            return start, end
        lo, hi = inside[0], inside[-1]
        for step in (-1, 1):
            k, added = (lo, hi)[step > 0], 0
            while added < 2 and 0 <= k + step < len(toks):
                a, b = (toks[k + step], toks[k]) if step < 0 else (toks[k], toks[k + step])
                t = toks[k + step]
                if not _GAP.match(text[a.end:b.start]) or not (
                        t.text.lower() in PARTICLES or (t.capitalised and self.name_like(t.text))):
                    break
                k += step
                added += 1
            if step < 0:
                lo = k
            else:
                hi = k
        while hi > lo and toks[hi].text.lower() in PARTICLES:
            hi -= 1
        while lo < hi and toks[lo].text.lower() in PARTICLES:
            lo += 1
        return min(start, toks[lo].start), max(end, toks[hi].end)

    # ---- detectors ------------------------------------------------------------------------

    def names(self, text: str) -> list[Finding]:
        """Two to four capitalised words that read as a person's name."""
        out = []
        for chain in _chains(text, _tokens(text)):
            words = [t for t in chain if t.text.lower() not in PARTICLES]
            if len(words) < 2:
                continue
            i = 0
            while i < len(chain):
                best = None
                for j in range(min(len(chain), i + 5), i + 1, -1):
                    window = chain[i:j]
                    core = [t.text for t in window if t.text.lower() not in PARTICLES]
                    if 2 <= len(core) <= 4 and all(self.name_like(w) or k == 0 and self.leads(w, core[1])
                                                   for k, w in enumerate(core)) and self._evidence(core):
                        best = j
                        break
                if best:
                    out.append(Finding(chain[i].start, chain[best - 1].end, "PERSON", 0.7, "lexicon"))
                    i = best
                else:
                    i += 1
        return out

    def _evidence(self, core: list[str]) -> bool:
        if not any(self.lexical(w) for w in core):
            # names from outside the census ("Ayşe Yılmaz"): no English word, letters no English
            # word has
            return all(not self.lex.is_common(w) for w in core) and any(not w.isascii() for w in core)
        if sum(self.strong(w) for w in core) >= 1 and not all(self.lex.is_loose(w) or self.is_ui(w) for w in core):
            return True
        # only names that are also common words ("Rose Garden"): a first name plus an unknown word
        return self.first_name(core[0]) and any(not self.lex.is_common(w) for w in core[1:])


_NAME = r"[^\W\d_][^\W\d_'’\-]*"
_NAME_SEQ = rf"(?:{_NAME}\.? +(?:(?:van|von|der|den|de|del|della|di|da|dos|du|la|le|bin|al|ten|ter|zu) +)*){{0,3}}{_NAME}"
_LABELS = (
    r"from|to|cc|bcc|reply-to|sender|recipients?|author|committer|signed-off-by|co-authored-by|reviewed-by"
    r"|acked-by|tested-by|reported-by|suggested-by|assignee|assigned to|reporter|reviewers?|owner|organi[sz]er"
    r"|attendees?|participants?|guests?|host|contact|name|full name|display name|created by|opened by|requested by"
    r"|approved by|merged by|closed by|edited by|modified by|updated by|submitted by|customer|client|manager"
    r"|von|an|absender|empfänger|de|à|para|da|a|od|do|van|aan|från|till"
)
_LABEL = re.compile(rf"(?i)(?<![\w-])(?:{_LABELS})\s*: *")
_GREETING = re.compile(
    r"(?i)(?<![\w])(?:hi|hello|hey|dear|thanks|thank you|cheers|regards|best|sincerely|greetings|welcome|congrats"
    r"|hallo|liebe|lieber|moin|servus|bonjour|salut|cher|chère|hola|querido|querida|estimado|estimada|ciao|caro|cara"
    r"|olá|oi|hej|hoi|beste|cześć|witaj|merhaba|ahoj|dzień dobry)[ ,]+"
)
_BEFORE_ADDRESS = re.compile(rf"(?P<s>{_NAME_SEQ}) *[<(\[]?[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_AUTHOR_LINE = re.compile(
    rf"(?P<s>{_NAME_SEQ})(?= *(?:[,·•|\-–] *)?(?:\d{{1,2}}:\d{{2}}|wrote\b|commented\b|committed\b|opened\b|wants to merge\b"
    r"|merged\b|approved\b|reviewed\b|requested\b|replied\b|reacted\b|joined\b|left the\b|added\b|assigned\b"
    r"|mentioned\b|pushed\b|said\b|schrieb\b|a écrit\b|escribió\b|ha scritto\b|schreef\b|skrev\b|napisał))"
)
# "meeting with Piero Trebbi": two to four name words after "with"
_WITH = re.compile(r"(?i)(?<![\w])(?:with|mit|avec|con|com|met|med|ze|z) +")
_LIST_SEP = re.compile(r" *[,;] *| +(?:and|und|et|y|e|en|och|i) +")


class Layout:
    """Names where the layout puts one."""

    def __init__(self, people: People) -> None:
        self.people = people

    def _take(self, text: str, pos: int, out: list[Finding], score: float, many: bool) -> None:
        """The name (and, with `many`, a list of names) starting at `pos`."""
        while True:
            m = re.compile(_NAME_SEQ).match(text, pos)
            if not m:
                return
            span = self._trim(text, m.start(), m.end())
            if span:
                out.append(Finding(span[0], span[1], "PERSON", score, "layout"))
            end = span[1] if span else m.end()
            sep = _LIST_SEP.match(text, end)
            if not many or not sep:
                return
            pos = sep.end()

    def _ui(self, words: list[str], k: int) -> bool:
        """words[k] is an interface word here. A first name that is one ("Mark", "Will") still
        leads a name where the layout puts one: "Mark Rijn 14:24", "with Mark van Noort"."""
        w = words[k]
        return self.people.is_ui(w) and not (
            k == 0 and len(words) >= 2 and self.people.lex.is_first(w) and words[1][:1].isupper()
            or k == 0 and len(words) >= 3 and words[1].lower() in PARTICLES)

    def _trim(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """Capitalised name words from `start`; stops at a UI or lower-case word."""
        last = None
        toks = _tokens(text[start:end])
        words = [t.text for t in toks]
        for k, t in enumerate(toks):
            w = t.text
            if w.lower() in PARTICLES and last is not None:
                continue
            if not (t.capitalised or w.isupper()) or self._ui(words, k):
                break
            last = start + t.end
        return (start, last) if last else None

    def find(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        for m in _LABEL.finditer(text):
            self._take(text, m.end(), out, 0.8, many=True)
        for m in _GREETING.finditer(text):
            self._take(text, m.end(), out, 0.6, many=True)
        for m in _BEFORE_ADDRESS.finditer(text):
            span = self._trim(text, m.start("s"), m.end("s"))
            if span and self.people.name_like(text[span[0]:span[1]].split()[0]):
                out.append(Finding(span[0], span[1], "PERSON", 0.75, "layout"))
        for m in _AUTHOR_LINE.finditer(text):
            words = [w for w in m.group("s").split() if w.lower() not in PARTICLES]
            named = all(w[0].isupper() and (self.people.name_like(w) or self.people.is_ui(w) and not self._ui(words, k))
                        for k, w in enumerate(words)) and any(self.people.lexical(w) for w in words)
            # or a name in no list: capitalised words, one of them no English word ("Anka Junk 13:48")
            unknown = len(words) >= 2 and all(
                w[0].isupper() and not self._ui(words, k) and (self.people.lexical(w) or not self.people.lex.is_loose(w))
                for k, w in enumerate(words)) and any(not self.people.lex.is_common(w) and not self.people.lexical(w)
                                                      for w in words)
            if 1 <= len(words) <= 4 and (named or unknown):
                span = self._trim(text, m.start("s"), m.end("s"))
                if span:
                    out.append(Finding(span[0], span[1], "PERSON", 0.6, "layout"))
        for m in _WITH.finditer(text):
            n = re.compile(_NAME_SEQ).match(text, m.end())
            span = n and self._trim(text, n.start(), n.end())
            if span:
                words = text[span[0]:span[1]].split()
                # a first name and what follows it: "with Lauren Read" (a surname that is a verb)
                if 2 <= len(words) <= 4 and (all(self.people.name_like(w) for w in words)
                                             or self.people.first_name(words[0]) or self.people.lex.is_first(words[0])):
                    out.append(Finding(span[0], span[1], "PERSON", 0.55, "layout"))
        alone = text.strip()
        if alone and " " not in alone and self.people.first_name(alone) and alone[0].isupper() and alone[1:].islower():
            start = text.index(alone)  # a cell, signature or title that is a first name only
            out.append(Finding(start, start + len(alone), "PERSON", 0.5, "layout"))
        words = alone.split()
        if 2 <= len(words) <= 3 and all(_WORD.fullmatch(w) and self._alone_word(w) for w in words) and any(
                not self.people.lex.is_common(w) for w in words):
            start = text.index(alone)  # a line that is nothing but a name: a contact card, a signature
            out.append(Finding(start, start + len(alone), "PERSON", 0.5, "layout"))
        return out

    def _alone_word(self, w: str) -> bool:
        p = self.people
        if not w[0].isupper() or not any(c.islower() for c in w[1:]):
            return False
        if p.lex.is_first(w) and not p.lex.is_loose(w):
            return True  # "Jan", though it is a month too
        return not p.is_ui(w) and (p.strong(w) or not p.lex.is_common(w))


# ---- organisations --------------------------------------------------------------------------

_LEGAL = (
    r"Inc\.?|Incorporated|LLC|L\.L\.C\.|Ltd\.?|Limited|LLP|LP|PLC|plc|Corp\.?|Corporation|Co\.|Company|Group|Holdings?"
    r"|GmbH(?: *& *Co\.? *(?:KG|OHG))?|AG(?: *& *Co\.? *KG)?|KG(?:aA)?|OHG|e\. ?V\.|UG|SE"
    r"|mbH|S\.(?:Coop|Com|L\.N\.E|C\.P|A\.D|A\.L|A\.T)\.?|S\.?A\.?R\.?L\.?|S\.?A\.?S?\.?|S/A|S\.?à ?r\.?l\.?|SNC|S\.?L\.?(?:U\.?)?|S\.?p\.?A\.?|SPA|SRL|S\.?r\.?l\.?|S\.?n\.?c\.?"
    r"|B\.?V\.?|N\.?V\.?|Oy|Oyj|AB|ASA|A/S|ApS|AS|Pty\.?(?: Ltd\.?)?|Ltda\.?|S\.?C\.?|[Ss]p\. ?z ?[o0]\.? ?[o0]\.?(?: ?[Ss]p\.? ?k\.?)?|[Ss]p\. ?[kjp]\.|[Ss]\.[kj]\."
    r"|S\.?A\.? ?de ?C\.?V\.?|K\.?K\.?|A\.?Ş\.?|Stiftung|Partners|Associates|Consulting|Solutions|Systems"
    r"|Technologies|Labs|Industries|Enterprises|Ventures|Studios?|Software|& Sons|and Sons|& Co\.?|et Fils|e [Ff]igli"
    r"|e hijos|[y&] [Aa]sociados|Hermanos|Gebrüder|Brothers|Bros\.?|s\.r\.l\.|s\.p\.a\.|s\.n\.c\.|s\.c\.|e\.G\.|EIRELI|i syn(?:owie)?|i wspólnicy"
    r"|ME|EI|EPP|HB|KB|San\.(?: ve Tic\.)?(?: (?:Ltd\.|A\.Ş\.))?(?: Şti\.)?|Ltd\. Şti\.?|Tic\.|Şti\.|A\.Ş"
    r"|e [Ff]ilhos|Filhos|Elektrik|Elektronik|Gıda|İnşaat|Ticaret|Holding|Sanayi"
)
_LEGAL = _unaccented(_LEGAL)
_ORG_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž0-9][\w'’\-]*"
_ORG = re.compile(
    rf"(?<![\w])(?P<s>(?:{_ORG_WORD}(?:,? +| *[&+] *| +(?:and|und|et|e|y|en|&) +| +- +|-)){{1,4}}"
    rf"(?:{_LEGAL})(?: +(?:{_LEGAL}))?)(?![\w&])"
)
# organisational words before the name ("Stichting Jorlink", "Fundacja Han i syn", "Hnos Fiol")
_ORG_PREFIXES = _unaccented(
    r"Stichting|Fundacja|Fundación|Fondazione|Fundação|Stiftung|Fondation|Vereniging|Verein"
    r"|Association|Asociación|Associazione|Associação|Grupo|Gruppo|Groupe|Grupa|Hnos\.?|Hermanos|Cooperativa"
    r"|Spółdzielnia|Stowarzyszenie|Przedsiębiorstwo|Zakład|Zakłady|Firma|Biuro|Gabinety?|Agencja|Kancelaria"
    r"|P\.?P\.?U\.?H\.?|F\.?P\.?U\.?H\.?|F\.?H\.?U\.?|P\.?H\.?U\.?|P\.?U\.?H\.?|Institut|Instituto|Istituto"
)
_ORG_PREFIX = re.compile(
    rf"(?<![\w])(?P<s>(?:{_ORG_PREFIXES})"
    rf"(?: +(?:i|y|e|et|und|en|de|del|van|von|di|da)? *{_ORG_WORD}){{1,3}})(?![\w])"
)
_DOUBLE_SURNAME = re.compile(r"(?<![\w\-])(?P<a>[A-Z][a-z]+)-(?P<b>[A-Z][a-z]+)(?![\w\-])")
_ORG_LIST = re.compile(rf"(?<![\w])(?P<s>(?P<a>{_NAME}), +(?P<b>{_NAME}) +(?:and|&|und|et|y|e) +(?P<c>{_NAME}))(?!\w)")


def organisations(text: str, people: People) -> list[Finding]:
    out = []
    for m in _ORG.finditer(text):
        start = m.start("s")
        words = _tokens(m.group("s"))
        # start at the first capitalised word that is not an interface word ("Invoice from Acme Inc")
        for t in words:
            if t.capitalised and not people.is_ui(t.text):
                start = m.start("s") + t.start
                break
        else:
            continue
        if any(c.isalpha() for c in text[start:m.start("s") + words[-1].start]) or len(words) == 1:
            out.append(Finding(start, m.end("s"), "ORGANIZATION", 0.75, "org"))
    for m in _ORG_PREFIX.finditer(text):
        out.append(Finding(m.start("s"), m.end("s"), "ORGANIZATION", 0.7, "org"))
    for m in _DOUBLE_SURNAME.finditer(text):
        # "Mills-Jackson": two surnames joined, a firm or a double-barrelled name; either is redacted
        pair = [m.group("a"), m.group("b")]
        if all(people.lex.is_last(w) and not people.is_ui(w) for w in pair) and not all(
                people.lex.is_loose(w) for w in pair):
            out.append(Finding(m.start(), m.end(), "ORGANIZATION", 0.5, "org"))
    for m in _ORG_LIST.finditer(text):
        if all(people.name_like(m.group(g)) for g in "abc") and sum(people.lex.is_last(m.group(g)) for g in "abc") >= 2:
            out.append(Finding(m.start("s"), m.end("s"), "ORGANIZATION", 0.7, "org"))
    return out


# ---- street addresses -----------------------------------------------------------------------

# USPS Publication 28 street suffixes (and their abbreviations), British and Irish forms
_SUFFIX = (
    r"Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Square|Sq|Way|Parkway|Pkwy"
    r"|Terrace|Ter|Circle|Cir|Highway|Hwy|Trail|Trl|Crescent|Cres|Close|Grove|Gardens|Gdns|Row|Mews|Hill|Hills"
    r"|Park|Plaza|Alley|Aly|Loop|Path|Pike|Run|View|Views|Walk|Ridge|Heights|Hts|Crossing|Xing|Point|Pt|Port"
    r"|Ranch|Mill|Mills|Manor|Station|Sta|Valley|Vly|Forks|Fork|Ford|Fords|Forest|Forge|Fort|Ft|Freeway|Fwy"
    r"|Expressway|Expy|Glen|Glens|Green|Harbor|Harbour|Haven|Hollow|Island|Isle|Junction|Jct|Key|Keys|Knoll|Knolls"
    r"|Lake|Lakes|Landing|Light|Lights|Lock|Locks|Lodge|Mall|Meadow|Meadows|Mission|Motorway|Mount|Mountain|Mtn"
    r"|Neck|Orchard|Oval|Overpass|Pass|Passage|Pine|Pines|Plain|Plains|Points|Ports|Prairie|Radial|Ramp|Rapid"
    r"|Rapids|Rest|Ridges|River|Roads|Route|Rte|Shoal|Shoals|Shore|Shores|Skyway|Spring|Springs|Spur|Spurs"
    r"|Squares|Stravenue|Stream|Streets|Summit|Throughway|Trace|Track|Trafficway|Tunnel|Turnpike|Tpke|Underpass"
    r"|Union|Unions|Valleys|Via|Viaduct|Village|Villages|Ville|Vista|Walks|Wall|Ways|Well|Wells|Bay|Bayou|Beach"
    r"|Bend|Bluff|Bluffs|Bottom|Branch|Bridge|Brook|Brooks|Burg|Burgs|Bypass|Camp|Canyon|Cape|Causeway|Center"
    r"|Centre|Centers|Cliff|Cliffs|Club|Common|Commons|Corner|Corners|Course|Courts|Cove|Coves|Creek|Crest"
    r"|Crossroad|Curve|Dale|Dam|Divide|Drives|Estate|Estates|Extension|Ext|Fall|Falls|Ferry|Field|Fields|Flat"
    r"|Flats|Garden|Gateway|Greens|Groves|Harbors|Inlet|Islands|Junctions|Land|Lanes|Manors|Parks|Parkways"
    r"|Quay|Rise|Wharf|Wynd|Vale|Chase|Approach|Broadway|Esplanade|Embankment|Drove|Hey|Marg|Nagar|Zila|Chowk|Gali"
    r"|Ganj|Bagh|Puram|Colony|Enclave|Layout|Sector|Peth|Wadi"
)
_UNIT_WORDS = (r"Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Bldg|Building|Piano|Appartamento|Interno|Scala|Piso"
               r"|Puerta|Escalera|Apto|Bloco|Casa|Lote|Andar|Sala|Etage|Whg|#")
_UNIT = rf"(?:,? *(?:{_UNIT_WORDS})\.? *#?[\w\-]{{1,6}})?"
_STREET_EN = re.compile(
    rf"(?<![\w])(?P<s>(?:(?:H\. ?No|House No|Plot No|Flat No|No)\.? *)?"
    rf"(?:\d{{1,6}}[A-Za-z]?(?:[\-/]\d{{1,4}})?|(?:Flat|Studio|Unit|Apartment) +\w{{1,5}}),? +(?:(?:[NSEW]|North|South|East|West|N\.|S\.|E\.|W\.) +)?"
    rf"(?:[^\W\d_][\w'’.\-]* +){{0,4}}(?:{_SUFFIX})\b\.?{_UNIT})"
)
_COMPOUND = (
    r"straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|steig|pfad|markt|graben|berg|hof|wall"
    r"|gracht|laan|plein|straat|kade|singel|dijk|vej|gade|gatan|gata|vägen|väg|veien|vegen|gate|katu|tie|kuja"
    r"|utca|ulice|cesta|iela|gatvė|tänav|steeg|torget|torg|gränden|gränd|stigen|stig|backen|backe|leden|led"
    r"|stræde|plads|vænget|vang"
    r"|toften|høj|allé|sokak|sokağı|caddesi|bulvarı"
)
_COMPOUND = _unaccented(_COMPOUND)
_STREET_COMPOUND = re.compile(
    rf"(?i)(?<![\w])(?P<s>(?:(?-i:[A-ZÀ-ÖØ-ÞĀ-Ž])[\w'’.\-]*[ -]+){{0,3}}[^\W\d_]*(?:{_COMPOUND})(?![^\W\d_]) *\d{{1,5}} ?[a-zA-Z]?"
    r"(?: *[/\-] *\d{1,5})?(?![\w]))"
)
_PREFIX = (
    r"rue|avenue|av\.|boulevard|bd|bld|chemin|allée|impasse|place|quai|route|cours|passage|square|voie|rond-point"
    r"|via|viale|piazza|piazzale|corso|largo|vicolo|strada|contrada|borgo|rotonda|calle|c/|avenida|avda\.?|paseo"
    r"|plaza|camino|carrer|carretera|ronda|rambla|travesía|pasaje|glorieta|urbanización|cuesta|callejón|vial|rua"
    r"|travessa|praça|largo|alameda|rodovia|estrada|viela|ladeira|ul\.|ulica|al\.|aleja|pl\.|plac|os\.|osiedle"
    r"|área|vereda|quadra|conjunto|jardim|parque|vila|setor|trecho|passarela|recanto|residencial|chácara|núcleo"
    r"|lagoa|morro|fazenda|viaduto|esplanada|pátio|stretto|cañada|travessera|vía|pasadizo|alameda"
    r"|strada|calea|bulevardul|str\.|am|an der|an den|auf der|im|in der|zum|zur|hinter der|unter den|sokak|sokağı"
    r"|caddesi|cad\.|sk\.|mahallesi"
    r"|praia|ladeira|beco|quinta|sítio|aleja|droga|rynek|skwer|bulwar|wybrzeże|acceso|lago|lugar"
)
_PREFIX = _unaccented(_PREFIX)
_STREET_PARTICLES = "|".join(sorted(PARTICLES | {"des", "do", "dei", "delle", "degli", "las", "los", "les", "l'", "d'"}))
_STREET_PREFIXED = re.compile(
    rf"(?<![\w])(?P<s>(?:\d{{1,5}}[a-z]?(?: ?(?:bis|ter))?,? +)?(?i:{_PREFIX})(?![^\W\d_]) +"
    rf"(?:(?:{_STREET_PARTICLES}) +"
    rf"|[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.\-]*,? +){{0,5}}[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.\-]*"
    rf"(?:,? *(?:n[º°o]\.? *)?\d{{1,5}}[a-zA-Z]?(?: *[/\-] *\d{{1,5}})?)?{_UNIT})(?![\w])"
)
# a town's words; a full stop ends it ("58897 Varberg. Best regards"), but for an abbreviation ("St. Gallen")
_TOWN_WORD = r"[A-ZÀ-ÖØ-ÞĀ-Ž](?:[a-z]{1,2}\.|[\w'’\-]+)"
_TOWN = (rf"{_TOWN_WORD}(?:[ \-]+(?:(?:da|de|do|dos|das|del|di|la|le|am|an der|sur|upon|on|en|im|bei|nad|pod) )?"
         rf"{_TOWN_WORD}){{0,2}}\.?")
_POSTAL_CITY = re.compile(
    rf"(?<![\w\-])(?P<s>\d{{4}} ?(?P<nl>[A-Z1][A-Z]) +{_TOWN}|(?P<code>(?:[A-Z]{{1,3}}-)?(?:\d{{2}}-\d{{3}}|\d{{5}}-\d{{3}}|\d{{4,8}})) +(?P<town>{_TOWN})"

    rf"|{_TOWN}, +[A-Z]{{2}} +\d{{5}}(?:-\d{{4}})?"
    # UK: the inward code's letters are never C, I, K, M, O, V ("TO 4PM" is no postcode), and OCR
    # reads a 0 or 9 as O on either side ("BOW 6FA" for "B9W 6FA")
    rf"|[A-Z]{{1,2}}[\dO][A-Z\d]? [\dO][ABD-HJLNP-UW-Z]{{2}}(?: +{_TOWN})?"
    r"|[A-Z]\d[A-Z] ?\d[A-Z]\d)(?![\w])"
)
_POSTAL_CONTEXT = re.compile(r"(?i)\b(?:address|adresse|dirección|indirizzo|endereço|adres|street|ship|bill|office|"
                             r"mail to|located|deliver|home)\b")


STREET_WORDS = frozenset(w.lower().rstrip(".") for w in (_SUFFIX + "|" + _PREFIX).split("|")) | {
    "straße", "strasse", "platz", "weg", "allee", "gasse"}


# a meeting's place, a contact's address: whatever follows the label on its line
_PLACE_LABEL = re.compile(r"(?i)(?<![\w-])(?:where|location|venue|address|adresse|lieu|ort|dirección|ubicación|indirizzo"
                          r"|luogo|endereço|local|adres|locatie|plats|adresa|miejsce)\s*:[ \t]*(?P<s>[^\t\n]{0,80}[^\s.,;])")


_TIME_AM = re.compile(r"\d{1,4} *(?i:am|pm)\b")


def _town_like(code: str, town: str, people: People) -> bool:
    """A town after a postcode is no interface word or verb; after a four-digit number (a year:
    "2024 Annual") it is no English word at all."""
    if people.is_ui(town) or people.lex.is_loose(town):
        return False
    if sum(c.isdigit() for c in code) >= 5:
        f = town.lower()
        return not (f.endswith("s") and people.lex.is_common(f[:-1]))  # "12345 Files"
    return not people.lex.is_common(town)


def _town_words_like(code: str, town: str, people: People) -> bool:
    """Any word of the town will do: "Bad Liebenwerda"."""
    return any(_town_like(code, w, people) for w in town.split() if w[:1].isupper())


_NAME_BEFORE = re.compile(rf"(?P<s>{_ORG_WORD}(?: {_ORG_WORD}){{0,2}}), *$")


def _before_address(text: str, found: list[Finding], people: People) -> list[Finding]:
    """The name just before an address ("Petitjean, 7 boulevard …", "Acme, 12 Main St"): the
    firm or person who is there."""
    out = []
    for f in found:
        m = _NAME_BEFORE.search(text, 0, f.start)
        if m and m.end() == f.start and not any(people.is_ui(w) or w.lower() in STREET_WORDS for w in m.group("s").split()):
            out.append(Finding(m.start("s"), m.end("s"), "ORGANIZATION", 0.55, "org"))
    return out


def addresses(text: str, people: People) -> list[Finding]:
    out = []
    for pattern, score in ((_STREET_EN, 0.8), (_STREET_COMPOUND, 0.75), (_STREET_PREFIXED, 0.7)):
        for m in pattern.finditer(text):
            if _TIME_AM.match(m.group("s")):
                continue  # "10 am Standup", not "Am Markt 5"
            out.append(Finding(m.start("s"), m.end("s"), "ADDRESS", score, "address"))
    for m in _POSTAL_CITY.finditer(text):
        # "2024 Annual" or "12 Items" is a number and a word: a postcode's town is no common
        # English word (or a street, an address label or a postcode shape vouches for it)
        town = m.group("town")
        vouched = out or _POSTAL_CONTEXT.search(text)
        if m.group("nl") in ("AM", "PM") and not vouched:
            continue  # "1030 AM Standup" is a time
        if town is None or vouched or _town_words_like(m.group("code"), town, people):
            out.append(Finding(m.start("s"), m.end("s"), "ADDRESS", 0.6, "address"))
    for m in _PLACE_LABEL.finditer(text):
        if m.end("s") > m.start("s"):
            out.append(Finding(m.start("s"), m.end("s"), "ADDRESS", 0.6, "layout"))
    out += _before_address(text, out, people)
    return out


class PeopleDetector:
    """Every detector of this module over one text."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.people = People(lexicon)
        self.layout = Layout(self.people)

    def find(self, text: str) -> list[Finding]:
        text = ocr_repaired(text, self.people)  # same length: the findings' offsets hold for the original
        return (self.people.names(text) + self.layout.find(text) + organisations(text, self.people)
                + addresses(text, self.people))


# OCR misreads in names, letter for letter: a capital I (and the Turkish İ) as l, i, | or [ in
# sans fonts ("Elena loppi", "[jaya Misra", "ildem Yorulmaz"), Ł as t ("Albert tokietek"), Ö as
# "(", an accented vowel as a digit ("R6za")
_MISREAD = re.compile(r"(?<![^\W_])(?:(?P<i>[li|\[t(])[a-zß-öø-ÿ]{2,}|[A-Z][a-zß-öø-ÿ]*(?P<d>[0156])[a-zß-öø-ÿ]+)(?![\w])")
_LOOKALIKE = {"0": "o", "1": "l", "5": "s", "6": "o", "l": "I", "i": "I", "|": "I", "[": "I", "t": "L", "(": "O"}
_NEIGHBOUR_BEFORE = re.compile(r"(?<![^\W_])(?P<w>[^\W\d_][\w'’\-]*) $")
_NEIGHBOUR_AFTER = re.compile(r" (?P<w>[^\W\d_][\w'’\-]*)")
_SUFFIXES = ("ing", "ed", "es", "er", "ly", "s", "d")


# the lexicon has nouns, verbs, adjectives and adverbs; these glue onto them most
_FUNCTION_WORDS = frozenset("with and for the from into onto that this than then them they their there what when "
                            "which while who will would your about after before over under".split())


def _two_words(word: str, people: People) -> bool:
    """Two English words run together ("linewith": a wrapped line glued to the next)."""
    return any(people.lex.is_common(word[:k]) and (word[k:] in _FUNCTION_WORDS or people.lex.is_common(word[k:]))
               for k in range(3, len(word) - 2))


def ocr_repaired(text: str, people: People) -> str:
    """`text` with those misreads undone in words that no English word explains, next to a
    capitalised name-like word. Same length, so offsets found in it hold for `text`."""
    chars = None
    for m in _MISREAD.finditer(text):
        at = m.start("i") if m.group("i") else m.start("d")
        letter = _LOOKALIKE[text[at]]
        word = m.group()[: at - m.start()] + letter + m.group()[at - m.start() + 1:]
        if any(people.lex.is_common(w) or people.is_ui(w) for w in (m.group(), word)) or any(
                word.endswith(x) and people.lex.is_common(word[: -len(x)]) for x in _SUFFIXES) or _two_words(
                m.group(), people):
            continue
        before = _NEIGHBOUR_BEFORE.search(text, 0, m.start())
        after = _NEIGHBOUR_AFTER.match(text, m.end())
        if any(n and _Tok(0, 0, n.group("w")).capitalised and people.name_like(n.group("w"))
               for n in (before, after)):
            chars = chars or list(text)
            chars[at] = letter
    return text if chars is None else "".join(chars)
