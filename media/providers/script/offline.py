"""The offline script writer, the default: rules instead of a model, so it is free, instant and
deterministic (the same text always gives the same script).

The text becomes a row of pieces: sentences of prose, and whole blocks that must stay together (a code
fence, display math, a list), each block glued to the sentence that leads into it ("...like this:"). A
piece that needs a picture (code, formula, a list, an "A -> B" chain) carries its visual. The pieces are cut
into scenes by dynamic programming: scenes aim at TARGET_WORDS spoken words, prefer paragraph ends, hold at
most one visual, and a visual scene stays inside its paragraph. Over `max_scenes`, the smallest neighbours
merge.
"""

import re
from dataclasses import dataclass, replace
from functools import cached_property

from media.errors import MediaError
from media.providers.script import rules
from media.script import Scene, Script, VisualType

TARGET_WORDS = 40  # ~16 s of speech: long enough to explain one thing, short enough to keep a visual fresh
JOIN_COST = 150  # putting two paragraphs in one scene
SPLIT_COST = 100  # ending a scene in the middle of a paragraph
WORDS_PER_SECOND = 2.5
_BLOCK = re.compile(
    r"^(?P<fence>```|~~~)[ \t]*(?P<info>[^\n]*)\n(?P<code>.*?)^(?P=fence)[ \t]*$"
    r"|\$\$(?P<dollars>.+?)\$\$|\\\[(?P<brackets>.+?)\\\]",
    re.MULTILINE | re.DOTALL,
)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?P<mark>\d+[.)]|[-*•+])\s+(?P<text>.+)$")
_GOES_ON = re.compile(r"[ \t]*\n?[ \t]*[a-z,;.)]")  # text that carries on the sentence a block interrupted
_STEP_WORDS = re.compile(r"(?i)\b(steps?|stages?|process|pipeline|workflow|procedure|loop|flow|then|first)\b")


@dataclass(frozen=True)
class Piece:
    narration: str
    paragraph: int
    source: str = ""  # the written sentence, for key phrases
    visual: VisualType | None = None
    title: str = ""
    content: str = ""
    code_language: str | None = None
    heading: str = ""  # a markdown heading right before this piece: a scene starts here and is named by it

    @cached_property
    def words(self) -> int:
        return rules.word_count(self.narration)


class OfflineWriter:
    async def write_script(self, text: str, *, title: str | None, max_scenes: int, language: str) -> Script:
        pieces = read_pieces(text)
        if not pieces:
            raise MediaError("EMPTY_TEXT", "the text has nothing to narrate")
        max_scenes = max(1, min(50, max_scenes))
        groups = cut(pieces)
        # A title card is the first thing to give up when scenes are scarce: it says nothing new.
        with_title_scene = bool(title) and len(groups) < max_scenes
        scenes = [make_scene(group) for group in merge_to(groups, max_scenes - with_title_scene)]
        name = rules.clamp(
            title or next((p.heading for p in pieces if p.heading), "") or scenes[0].title, 200
        )
        if with_title_scene:
            scenes.insert(0, Scene(narration=rules.clamp(f"{name}.", 2000), visual="title", title=name))
        return Script(title=name or "Explainer", scenes=scenes)


def read_pieces(text: str) -> list[Piece]:
    """The text as pieces, in order: sentences, and blocks glued to the sentence that leads into them."""
    reader = _Reader()
    at = 0
    for match in _BLOCK.finditer(text):
        before = reader.finish_sentence(text[at : match.start()])
        reader.prose(before)
        reader.block(match, joined=bool(before.strip()) and not re.search(r"\n[ \t]*\n[ \t]*$", before))
        at = match.end()
    reader.prose(reader.finish_sentence(text[at:]))
    if reader.heading and not reader.pieces:  # a text that is only a heading still says something
        reader.sentences([reader.heading])
    return reader.pieces


class _Reader:
    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self.paragraph = 0
        self.heading = ""  # waits for the piece it names

    def prose(self, text: str) -> None:
        for chunk in re.split(r"\n[ \t]*\n", text):
            self.paragraph += 1
            lines: list[str] = []
            items: list[tuple[str, str]] = []  # (mark, text) of a list's items
            for line in [*chunk.split("\n"), ""]:
                item = _ITEM.match(line)
                if items and not item and line.startswith((" ", "\t")) and line.strip():
                    items[-1] = (items[-1][0], f"{items[-1][1]} {line.strip()}")  # a continuation line
                    continue
                if item:
                    items.append((item.group("mark"), item.group("text").strip()))
                    continue
                if len(items) == 1:  # one item is not a list, just a line
                    lines.append(items.pop()[1])
                if items:
                    joined = bool(lines)
                    self.sentences(lines)
                    self.steps(items, joined=joined)
                    lines, items = [], []
                if heading := _HEADING.match(line):
                    self.sentences(lines)
                    lines, self.heading = [], rules.plain(heading.group(1)).rstrip(":")
                    self.paragraph += 1
                elif line.strip():
                    lines.append(line.strip())
            self.sentences(lines)

    def sentences(self, lines: list[str]) -> None:
        for sentence in rules.split_sentences(" ".join(lines)):
            narration = rules.spoken(sentence)
            title = rules.key_phrase(rules.ARROW.split(sentence)[0], 5)
            # The longest formula in the sentence is the one worth a picture ("with ratio $h$ the cost is
            # $h c + (1-h) m$" shows the second).
            spans = [m.group(1) for m in rules.INLINE_MATH.finditer(sentence)]
            if spans:
                self.push(Piece(narration, self.paragraph, sentence, "formula", title, max(spans, key=len)))
            elif nodes := rules.chain_nodes(sentence):
                edges = rules.diagram_edges(nodes)
                self.push(Piece(narration, self.paragraph, sentence, "diagram", title, edges))
            else:
                self.push(Piece(narration, self.paragraph, sentence))

    def steps(self, items: list[tuple[str, str]], *, joined: bool) -> None:
        """A list: a flowchart when it is a sequence (numbered, or about steps), else a slide's bullets."""
        texts = [text for _, text in items]
        labels = [rules.key_phrase(text, 5) or text for text in texts]
        lead = self.lead(joined=joined)
        said = lead.narration if lead else ""
        if all(mark[0].isdigit() for mark, _ in items) or _STEP_WORDS.search(f"{said} {' '.join(texts)}"):
            steps = rules.steps_spoken(texts)
            narration = f"{said} {steps[0].lower() + steps[1:] if said.endswith(':') else steps}".strip()
            self.push(
                self.glued(Piece(narration, 0, "", "diagram", "Steps", rules.diagram_edges(labels)), lead)
            )
        else:
            narration = f"{said} " + " ".join(
                rules.capital(rules.spoken(text).rstrip(".")) + "." for text in texts
            )
            self.push(self.glued(Piece(narration.strip(), 0, "", "slide", "", "\n".join(labels[:4])), lead))

    def block(self, match: re.Match[str], *, joined: bool) -> None:
        lead = self.lead(joined=joined)
        said = lead.narration if lead else ""
        if match.group("fence"):
            code = match.group("code").rstrip("\n")
            language = rules.code_language(match.group("info").split(" ")[0], code)
            title = rules.capital(f"{rules.language_name(language)} code".strip())
            piece = Piece(
                rules.say_code(said, code, language), 0, "", "code", title, rules.clamp_code(code), language
            )
        else:
            math = (match.group("dollars") or match.group("brackets")).strip()
            piece = Piece(rules.say_formula(said, math), 0, "", "formula", "Formula", math)
        self.push(self.glued(piece, lead))
        self.paragraph += 1  # what follows a block starts afresh

    def finish_sentence(self, text: str) -> str:
        """A block in mid-sentence ("the rule $$...$$ where eta is...") takes the rest of the sentence."""
        last = self.pieces[-1] if self.pieces else None
        if last is None or last.visual not in ("code", "formula") or not _GOES_ON.match(text):
            return text
        text = text.lstrip(" \t")
        first = rules.split_sentences(text.split("\n\n", 1)[0])[0]
        # The sentence was read with its line breaks folded; find where it ends in the text as written.
        end = re.match(r"\s*" + r"\s+".join(re.escape(word) for word in first.split()), text)
        tail = rules.spoken(first)
        space = "" if tail[0] in ",;.)" else " "
        self.pieces[-1] = replace(last, narration=f"{last.narration.rstrip('.')}{space}{tail}")
        return text[end.end() :] if end else ""

    def lead(self, *, joined: bool) -> Piece | None:
        """The sentence right before a block, taken from the prose when it leads into the block."""
        last = self.pieces[-1] if self.pieces else None
        if last is None or last.visual or self.heading or not (joined or last.source.endswith(":")):
            return None
        return self.pieces.pop()

    def glued(self, piece: Piece, lead: Piece | None) -> Piece:
        if lead is None:
            self.paragraph += 1
            return replace(piece, paragraph=self.paragraph)
        phrase = rules.key_phrase(lead.source, 5)
        title = phrase if len(phrase.split()) >= 3 or not piece.title else piece.title
        return replace(piece, paragraph=lead.paragraph, source=lead.source, title=title, heading=lead.heading)

    def push(self, piece: Piece) -> None:
        if self.heading:
            piece, self.heading = replace(piece, heading=self.heading), ""
        self.pieces.append(piece)


def cut(pieces: list[Piece]) -> list[list[Piece]]:
    """The cheapest cut of the pieces into scenes (see the module's docstring for what costs)."""
    n = len(pieces)
    best = [0.0] + [float("inf")] * n
    start = [0] * (n + 1)
    for end in range(1, n + 1):
        words = visuals = joins = 0
        split = SPLIT_COST if end < n and pieces[end - 1].paragraph == pieces[end].paragraph else 0
        for first in range(end - 1, -1, -1):
            words += pieces[first].words
            visuals += pieces[first].visual is not None
            if first < end - 1:
                joins += pieces[first].paragraph != pieces[first + 1].paragraph
                if pieces[first + 1].heading or words > 4 * TARGET_WORDS:
                    break  # a heading starts a scene; and nothing is gained past four scenes' worth
            if visuals > 1 or (visuals and joins):
                break
            cost = best[first] + (words - TARGET_WORDS) ** 2 + JOIN_COST * joins + split
            if cost < best[end]:
                best[end], start[end] = cost, first
    groups: list[list[Piece]] = []
    end = n
    while end:
        groups.insert(0, pieces[start[end] : end])
        end = start[end]
    return groups


def merge_to(groups: list[list[Piece]], limit: int) -> list[list[Piece]]:
    """At most `limit` groups: merge the neighbours with the fewest words, keeping visuals apart if we can."""
    groups = list(groups)
    words = [sum(p.words for p in group) for group in groups]
    visuals = [sum(p.visual is not None for p in group) for group in groups]
    while len(groups) > limit:
        k = min(
            range(len(groups) - 1), key=lambda k: (visuals[k] + visuals[k + 1] > 1, words[k] + words[k + 1])
        )
        groups[k : k + 2] = [groups[k] + groups[k + 1]]
        words[k : k + 2] = [words[k] + words[k + 1]]
        visuals[k : k + 2] = [visuals[k] + visuals[k + 1]]
    return groups


def make_scene(group: list[Piece]) -> Scene:
    narration = rules.clamp(" ".join(p.narration for p in group), 2000)
    seconds = round(min(120.0, max(2.0, rules.word_count(narration) / WORDS_PER_SECOND)), 1)
    heading = group[0].heading
    shown = next((p for p in group if p.visual), None)
    if shown is not None:  # with more than one (only after a forced merge) the first is shown, all are said
        title = rules.clamp(heading or shown.title or "", 200)
        return Scene(
            narration=narration,
            visual=shown.visual or "slide",
            title=title,
            content=shown.content,
            code_language=shown.code_language,
            duration_hint=seconds,
        )
    sentences = [p.source for p in group]
    title = heading or rules.key_phrase(sentences[0], 4)
    bullets = rules.bullets(sentences, title)
    return Scene(
        narration=narration,
        visual="slide",
        title=rules.clamp(title, 200),
        content="\n".join(bullets),
        duration_hint=seconds,
    )
