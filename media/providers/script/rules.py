"""The offline script writer's text rules: sentences, word counts, how a scene's visual is said and shown.

All plain string rules, no model: the same text always gives the same answer. The spoken phrases are
English; other languages keep their own prose and get English only where a code block or formula has no
sentence of its own to introduce it.
"""

import re

# Pandoc's rule for inline math: no space inside the dollars, no digit after, so "$5 and $6" stays money.
INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\d$])")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
ARROW = re.compile(r"\s*(?:-->|->|=>|→|⟶)\s*")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+|[。！？]+\s*")
_ENDED = re.compile(r"[.!?。！？][\"')\]]*$")  # a sentence that is finished
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "dr", "mr", "mrs", "ms", "prof", "fig", "no", "cf", "eq"}
_STOP = {
    "a", "an", "the", "of", "to", "and", "or", "in", "on", "for", "with", "by", "is", "are", "was", "it",
    "as", "its", "their", "this", "that", "these", "we", "you", "they", "until", "from", "at", "into", "than",
}  # fmt: skip
# Words a heading can lose at its start: connectives, and subordinators ("Once the model is trained").
_FILLERS = {
    "so", "then", "however", "but", "and", "also", "now", "next", "first", "finally", "here", "thus", "once",
    "when", "if", "after", "before", "while", "because", "although", "since", "as", "until",
}  # fmt: skip


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; inline code and math are never cut, nor are "e.g." or initials."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    masked = INLINE_MATH.sub(hide, INLINE_CODE.sub(hide, " ".join(paragraph.split())))
    sentences, start = [], 0
    for end in _SENTENCE_END.finditer(masked + " "):
        words = masked[start : end.start()].split()
        last = words[-1].lower() if words else ""
        if end.group().startswith(".") and (last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
            continue
        sentences.append(masked[start : end.end()].strip())
        start = end.end()
    sentences = [s for s in [*sentences, masked[start:].strip()] if s]
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], s) for s in sentences]


def word_count(text: str) -> int:
    """Spoken words: whitespace-separated runs, and one word per two CJK characters (which use no spaces)."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + (cjk + 1) // 2


def plain(text: str) -> str:
    """Markdown reduced to the words on the page: links to their text, emphasis and code marks dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"https?://\S+", "the link", text)
    text = re.sub(r"<[^>\n]+>", "", text)
    text = re.sub(r"(\*\*|__|\*|~~)(?=\S)(.+?)(?<=\S)\1", r"\2", text)
    return " ".join(text.split())


def spoken(sentence: str) -> str:
    """A sentence as a person would say it: math in words, identifiers as words, arrows as "then"."""
    text = INLINE_MATH.sub(lambda m: speak_math(m.group(1)) or "the formula shown", sentence)
    text = INLINE_CODE.sub(lambda m: speak_name(m.group(1)), text)
    return ARROW.sub(", then ", plain(text))


def speak_name(identifier: str) -> str:
    """`fit_line` and `fitLine` are said "fit line"."""
    return " ".join(re.sub(r"([a-z])([A-Z])", r"\1 \2", identifier).replace("_", " ").split()).lower()


_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda", "mu", "pi", "rho", "sigma", "tau", "phi",
    "omega",
}  # fmt: skip
_MATH_WORDS = {"=": "equals", "+": "plus", "-": "minus", "*": "times", "/": "over", "<": "is less than",
               ">": "is greater than", r"\cdot": "times", r"\times": "times", r"\approx": "is about",
               r"\neq": "is not", r"\le": "is at most", r"\leq": "is at most", r"\ge": "is at least",
               r"\geq": "is at least", ",": ","}  # fmt: skip
_MATH_TOKEN = re.compile(r"\\[A-Za-z]+|\^\{?\w+\}?|_\{?\w+\}?|[A-Za-z]|\d+(?:\.\d+)?|[=+\-*/<>(),]|\S")


def speak_math(latex: str) -> str | None:
    """Short, simple math in words ("E = mc^2" is "E equals m c squared"); None when it should be shown,
    not read (fractions, sums, anything longer than a breath)."""
    words: list[str] = []
    for token in _MATH_TOKEN.findall(latex):
        if token in "()":
            continue
        if token.startswith("^"):
            power = token.strip("^{}")
            words.append({"2": "squared", "3": "cubed"}.get(power, f"to the power of {power}"))
        elif token.startswith("_"):
            words.append(f"sub {token.strip('_{}')}")
        elif token.startswith("\\") and token[1:] in _GREEK:
            words.append(token[1:])
        elif token in _MATH_WORDS:
            words.append(_MATH_WORDS[token])
        elif token.isalnum() or token.replace(".", "", 1).isdigit():
            words.append(token)
        else:
            return None
    return " ".join(words).replace(" ,", ",") if 0 < len(words) <= 14 else None


_LANGUAGE_NAMES = {
    "python": "Python", "javascript": "JavaScript", "typescript": "TypeScript", "bash": "shell", "sql": "SQL",
    "json": "JSON", "c": "C", "cpp": "C++", "rust": "Rust", "go": "Go", "java": "Java", "html": "HTML",
    "yaml": "YAML", "ruby": "Ruby", "csharp": "C#",
}  # fmt: skip
_ALIASES = {"py": "python", "python3": "python", "js": "javascript", "ts": "typescript", "sh": "bash",
            "shell": "bash", "zsh": "bash", "console": "bash", "c++": "cpp", "rs": "rust", "golang": "go",
            "yml": "yaml", "rb": "ruby", "cs": "csharp", "c#": "csharp"}  # fmt: skip
_GUESSES = [
    ("python", r"^\s*(def |class \w+[:(]|import \w|from \w+ import )|print\("),
    ("rust", r"\bfn \w+\(|\blet mut\b"),
    ("go", r"^package \w+|\bfunc \w+\("),
    ("javascript", r"\bfunction\b|\bconst \w+ =|=>|console\.log"),
    ("java", r"\bpublic (static |class )"),
    ("c", r"^#include\b"),
    ("sql", r"(?i)^\s*(select|insert|create table|update)\b"),
    ("json", r"^\s*[\[{]\s*\"?"),
    ("bash", r"^\s*(\$ |pip |apt |cd |echo |export |curl )"),
]


def code_language(fence_info: str, code: str) -> str:
    """A Pygments lexer name: the fence's own language, else a guess from the code, else "text"."""
    name = fence_info.strip().lower()
    if name:
        return _ALIASES.get(name, name)
    for language, pattern in _GUESSES:
        if re.search(pattern, code, re.MULTILINE):
            return language
    return "text"


def language_name(language: str) -> str:
    """How a lexer name is said ("python" is "Python"); empty for a language we cannot name."""
    return _LANGUAGE_NAMES.get(language, "")


def say_code(lead_in: str, code: str, language: str) -> str:
    """The code described, never read: "Here is the Python code that defines fit line." After a lead-in
    ("Fit a line like this:") the lead-in names it, and a second sentence says what it defines."""
    kinds = {"class": "the class", "struct": "the type"}
    found = re.findall(r"\b(def|class|function|fn|func|struct)\s+(\w+)", code)
    found += [
        ("const", name) for name in re.findall(r"\b(?:const|let|var)\s+(\w+)\s*=\s*(?:async\s*)?\(", code)
    ]
    said = [f"{kinds.get(kind, 'the function')} {speak_name(name)}" for kind, name in found]
    names = join_words(list(dict.fromkeys(said))[:3])
    label = f"the {language_name(language)} code".replace("  ", " ")
    alone = f"Here is {label}, which defines {names}." if names else f"Here is {label}."
    if lead_in.endswith(":"):
        return f"{lead_in[:-1]}. It defines {names}." if names else f"{lead_in[:-1]}."
    return f"{lead_in}{'' if _ENDED.search(lead_in) or not lead_in else '.'} {alone}".strip()


def say_formula(lead_in: str, latex: str) -> str:
    """The formula in words when it is short ("...is: E equals m c squared"), else only introduced; in
    mid-sentence ("the rule $$...$$ where...") it is what the sentence points at."""
    said = speak_math(latex)
    if lead_in.endswith(":"):
        return f"{lead_in} {said}." if said else f"{lead_in[:-1]}."
    if lead_in and not _ENDED.search(lead_in):
        return f"{lead_in} {said or 'shown on screen'}."
    alone = f"Here is the formula: {said}." if said else "Here is the formula."
    return f"{lead_in} {alone}".strip()


def join_words(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def steps_spoken(steps: list[str]) -> str:
    """Steps said in order: "First, load it. Then, clean it. Finally, fit it."."""
    said = []
    for index, step in enumerate(steps):
        step = spoken(step).rstrip(".;:")
        step = step[:1].lower() + step[1:] if step[1:2].islower() or len(step) == 1 else step
        connector = "First" if index == 0 else "Finally" if index == len(steps) - 1 > 1 else "Then"
        said.append(f"{connector}, {step}.")
    return " ".join(said)


def chain_nodes(sentence: str) -> list[str] | None:
    """The labels of an "A -> B -> C" chain in a sentence, or None when there is no chain."""
    parts = ARROW.split(plain(INLINE_CODE.sub(r"\1", sentence)))
    if len(parts) < 2:
        return None
    first = re.split(r"[:;,(]|\b(?:is|are|goes|flows|runs)\b", parts[0])[-1].split()[-4:]
    last = re.split(r"[.;,)!?]|\s(?:and|which|where|so)\s", parts[-1])[0].split()[:4]
    labels = [" ".join(first), *(p.strip() for p in parts[1:-1]), " ".join(last)]
    return labels if all(labels) else None


def diagram_edges(labels: list[str]) -> str:
    """A chain of labels as the Mermaid-like edge list, one edge per line: `A[Load data] --> B[Clean it]`."""
    nodes = [f"{_node_id(i)}[{_label(label)}]" for i, label in enumerate(labels)]
    return "\n".join(f"{a} --> {b}" for a, b in zip(nodes, nodes[1:], strict=False))


def _node_id(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"N{index}"


def _label(text: str) -> str:
    words = re.sub(r"[\[\]{}()|<>\"]", "", plain(text)).rstrip(".;:").split()
    return " ".join(words[:6]) + ("…" if len(words) > 6 else "")


def key_phrase(sentence: str, max_words: int = 6) -> str:
    """The head of a sentence's first clause, without leading fillers or trailing small words."""
    text = INLINE_MATH.sub("", INLINE_CODE.sub(r"\1", plain(sentence)))
    clause = re.split(r"[,;:()—–。，；：、！？]|[.!?]\s|[.!?]$|\s-\s", text)[0]
    words = [w.strip("\"'“”‘’") for w in clause.split()]
    while words and words[0].lower() in _FILLERS:
        words.pop(0)
    words = words[:max_words]
    while len(words) > 1 and words[-1].lower() in _STOP:
        words.pop()
    phrase = " ".join(w for w in words if w)
    if len(phrase) > 60:  # one endless "word": unspaced scripts (CJK), or no words at all
        phrase = phrase[: 16 if _CJK.search(phrase) else 60]
    return phrase[:1].upper() + phrase[1:]


def clamp(text: str, limit: int) -> str:
    """At most `limit` characters, cut at the last sentence (or word) that fits."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > limit // 2 else cut.rsplit(" ", 1)[0]


def bullets(sentences: list[str], title: str) -> list[str]:
    """2-4 key phrases: first clauses first, one per sentence, then later clauses; never the title again."""
    clauses = [re.split(r"[,;:]|\s(?:and|but|so|because|while|which)\s", s) for s in sentences]
    chosen: list[str] = []
    for rank in range(3):
        for parts in clauses:
            phrase = key_phrase(parts[rank], 6) if rank < len(parts) else ""
            duplicate = phrase.lower().startswith(title.lower()) or phrase in chosen
            if len(phrase.split()) >= 2 and not duplicate and len(chosen) < 4:
                chosen.append(phrase)
    return chosen or [key_phrase(sentences[0], 6) or title]


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def clamp_code(code: str) -> str:
    """At most the Scene's 8,000 characters, cut at a line."""
    lines, size = [], 0
    for line in code.split("\n"):
        size += len(line) + 1
        if size > 8000:
            break
        lines.append(line)
    return "\n".join(lines)
