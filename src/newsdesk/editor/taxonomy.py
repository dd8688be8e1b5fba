"""The controlled vocabulary of DESIGN.md §2 and the patterns that map text onto it.

Pure data plus two functions (`tag_text`, `find_entities`); no I/O. The rules editor uses it
offline, and a model editor's tags can be checked against the same lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from newsdesk.domain import Tags

MAX_TAGS_PER_AXIS = 3
TITLE_WEIGHT = 3  # a keyword in the title says more about the story than one in the body

CAPABILITIES: tuple[str, ...] = (
    "Agent",
    "RAG",
    "Reasoning",
    "Multimodal",
    "Vision",
    "Audio",
    "Code",
    "Robotics",
    "Embedding",
    "Fine-tuning",
    "Inference-opt",
    "Alignment",
    "Safety",
    "Interpretability",
    "Benchmarking",
    "Tools",
    "Memory",
)

TOPICS: tuple[str, ...] = (
    "Product update",
    "Research release",
    "Funding",
    "Policy",
    "Open source",
    "Safety/alignment",
    "Incident",
    "Partnership",
    "Personnel",
    "Benchmark",
    "Commentary",
)

# Canonical English name -> aliases (English and Chinese). Product names map to their maker so
# "Claude 4" tags Anthropic. English aliases match case-sensitively on word boundaries, so
# ordinary words (meta, apple, moonshot, perplexity) do not hit; Chinese ones match as substrings.
ENTITY_ALIASES: dict[str, tuple[str, ...]] = {
    "OpenAI": ("OpenAI", "ChatGPT", "GPT-4o", "GPT-4", "GPT-5", "Sora", "Codex"),
    "Anthropic": ("Anthropic", "Claude"),
    "Google DeepMind": ("Google DeepMind", "DeepMind", "谷歌DeepMind", "谷歌 DeepMind", "Gemini"),
    "Google": ("Google", "Alphabet", "谷歌", "Google Cloud", "Vertex AI"),
    "Meta": ("Meta", "Meta AI", "Llama", "脸书"),
    "Microsoft": ("Microsoft", "微软", "Azure", "Copilot"),
    "NVIDIA": ("NVIDIA", "Nvidia", "英伟达"),
    "Hugging Face": ("Hugging Face", "HuggingFace", "抱抱脸"),
    "Mistral": ("Mistral", "Mistral AI"),
    "Cohere": ("Cohere",),
    "xAI": ("xAI", "Grok"),
    "DeepSeek": ("DeepSeek", "深度求索"),
    "Qwen": ("Qwen", "QwQ", "通义千问", "通义", "千问", "Tongyi"),
    "Alibaba": ("Alibaba", "Alibaba Cloud", "阿里巴巴", "阿里云", "阿里"),
    "Moonshot": ("Moonshot AI", "Moonshot", "月之暗面", "Kimi"),
    "Zhipu": ("Zhipu", "Zhipu AI", "智谱", "智谱AI", "智谱华章", "ChatGLM", "GLM"),
    "ByteDance": ("ByteDance", "字节跳动", "Doubao", "豆包", "火山引擎", "Volcano Engine"),
    "Xiaomi": ("Xiaomi", "小米", "MiMo"),
    "Tencent": ("Tencent", "腾讯", "Hunyuan", "混元"),
    "Baidu": ("Baidu", "百度", "ERNIE", "文心一言", "文心"),
    "MiniMax": ("MiniMax", "稀宇科技"),
    "StepFun": ("StepFun", "阶跃星辰"),
    "Huawei": ("Huawei", "华为", "昇腾"),
    "Apple": ("Apple", "苹果公司", "苹果"),
    "Amazon": ("Amazon", "AWS", "亚马逊", "Bedrock"),
    "Perplexity": ("Perplexity",),
    "EU": ("EU", "European Union", "European Commission", "欧盟", "欧盟委员会"),
    "Sam Altman": ("Sam Altman", "Altman", "奥特曼"),
    "Dario Amodei": ("Dario Amodei", "Amodei"),
    "Demis Hassabis": ("Demis Hassabis", "Hassabis", "哈萨比斯"),
    "Jensen Huang": ("Jensen Huang", "黄仁勋"),
    "Elon Musk": ("Elon Musk", "Musk", "马斯克"),
    "Liang Wenfeng": ("Liang Wenfeng", "梁文锋"),
    "Yang Zhilin": ("Yang Zhilin", "杨植麟"),
}

# US and Chinese labs carry the same weight (DESIGN.md §2).
FRONTIER_LABS: frozenset[str] = frozenset(
    {
        "OpenAI",
        "Anthropic",
        "Google DeepMind",
        "Google",
        "Meta",
        "xAI",
        "Mistral",
        "DeepSeek",
        "Qwen",
        "Alibaba",
        "Moonshot",
        "Zhipu",
        "ByteDance",
        "MiniMax",
        "Tencent",
        "Baidu",
        "StepFun",
        "Xiaomi",
    }
)

# Chinese flagship model families -> how a model name (not just the company) appears in text.
_FLAGSHIP_PATTERNS: dict[str, str] = {
    "DeepSeek": r"DeepSeek[- ]?(?:V\d|R\d|Coder|Math|Prover|VL)",
    "Qwen": r"(?:Qwen[- ]?\d|Qwen-(?:Max|Plus|Turbo|VL|Coder)|QwQ|通义千问)",
    "Kimi": r"Kimi(?:[- ]?[Kk]\d(?:\.\d)?)?",
    "GLM": r"(?:Chat)?GLM-?\d",
    "Doubao": r"(?:Doubao|豆包)",
    "ERNIE": r"(?:ERNIE|文心(?:一言|大模型)?)",
    "Hunyuan": r"(?:Hunyuan|混元)",
    "MiniMax": r"MiniMax-(?:M\d|Text|VL)",
    "MiMo": r"MiMo",
    "Step": r"Step-\d",
}
CHINESE_FLAGSHIP_MODELS: frozenset[str] = frozenset(_FLAGSHIP_PATTERNS)

# (pattern, weight) per tag. English patterns are case-insensitive; the weight lets a precise
# phrase ("deliberative alignment") outrank a loose word ("coding").
_CAPABILITY_PATTERNS: dict[str, tuple[tuple[str, int], ...]] = {
    "Agent": ((r"\bagent(?:s|ic)?\b", 2), (r"computer[- ]use", 2), (r"智能体", 2)),
    "RAG": ((r"\bRAG\b", 2), (r"retrieval[- ]augmented", 3), (r"检索增强", 3)),
    "Reasoning": (
        (r"\breasoning\b", 2),
        (r"chain[- ]of[- ]thought", 2),
        (r"test[- ]time compute", 2),
        (r"(?<![\w-])o[134](?:-mini|-pro)?(?![\w])", 2),
        (r"DeepSeek-R\d|QwQ", 2),
        (r"推理模型|思维链|深度思考|推理能力", 2),
    ),
    "Multimodal": ((r"multi-?modal|\bomni\b", 2), (r"vision[- ]language", 2), (r"多模态", 2)),
    "Vision": (
        (r"\b(?:image|video|vision|visual)\b", 1),
        (r"text[- ]to[- ](?:image|video)", 2),
        (r"图像|视觉|视频生成|文生图|文生视频", 2),
    ),
    "Audio": ((r"\b(?:speech|audio|voice|TTS|ASR)\b", 2), (r"语音|音频", 2)),
    "Code": (
        (r"\bcoding\b|\bcode generation\b|\bprogramming\b", 1),
        (r"SWE-bench|software engineering", 2),
        (r"代码|编程", 2),
    ),
    "Robotics": ((r"\brobot(?:s|ics)?\b|humanoid|embodied", 2), (r"机器人|具身", 2)),
    "Embedding": ((r"\bembeddings?\b|vector search", 2), (r"嵌入|向量", 2)),
    "Fine-tuning": ((r"fine[- ]?tun(?:e|ed|ing)|\bLoRA\b|\bSFT\b", 2), (r"微调", 2)),
    "Inference-opt": (
        (r"\binference\b|\blatency\b|throughput|quantiz|speculative decoding|KV cache", 1),
        (r"tokens per second|tokens/s", 2),
        (r"推理(?:加速|成本|速度|效率)|量化", 2),
    ),
    "Alignment": (
        (r"deliberative alignment|constitutional|\bRLHF\b", 3),
        (r"\balign(?:ment|ed)\b", 2),
        (r"对齐", 2),
    ),
    "Safety": (
        (r"\bsafety\b|red[- ]team|jailbreak|preparedness|\bCBRN\b|bio(?:security|risk)", 2),
        (r"system card|\brisks?\b|cybersecurity|misuse", 1),
        (r"安全|红队|越狱", 2),
    ),
    "Interpretability": (
        (r"interpretab|mechanistic|sparse autoencoder|\bcircuits?\b", 3),
        (r"可解释", 3),
    ),
    "Benchmarking": (
        (r"\bbenchmarks?\b|\bevals?\b|evaluations?|leaderboard", 1),
        (r"MMLU|GPQA|AIME|HumanEval|ARC-AGI|LMArena|Chatbot Arena", 2),
        (r"基准|评测|榜单", 2),
    ),
    "Tools": (
        (r"tool[- ]use|function[- ]calling|\bMCP\b|\bplugins?\b", 2),
        (r"工具调用|函数调用", 2),
    ),
    "Memory": (
        (r"\bmemory\b|long[- ]context|context window", 2),
        (r"记忆|长上下文|上下文窗口", 2),
    ),
}

_TOPIC_PATTERNS: dict[str, tuple[tuple[str, int], ...]] = {
    "Product update": (
        (r"\blaunch(?:es|ed)?\b|now available|rolling out|rolls out|\bships?\b", 2),
        (r"\b(?:update|feature|pricing|available)\b", 1),
        (r"上线|推出|更新|发布", 2),
    ),
    "Research release": (
        (r"system card|model card|technical report|\bpaper\b|arXiv|preprint", 3),
        (r"\bresearch\b|we (?:propose|introduce)", 1),
        (r"论文|技术报告|研究", 2),
    ),
    "Funding": (
        (
            r"\brais(?:es|ed|ing)\s+(?:US)?[$€£]|\bfunding\b|Series [A-F]\b"
            r"|\bvaluations?\b|seed round",
            3,
        ),
        (r"融资|估值|投资", 3),
    ),
    "Policy": (
        (r"regulat|\blaw\b|\bbill\b|AI Act|executive order|legislat|government", 3),
        (r"\bpolicy\b|compliance", 1),
        (r"监管|法规|立法|政策|管理办法|征求意见", 3),
    ),
    "Open source": (
        (r"open[- ]sourc|open[- ]weights?|Apache[- ]2\.0|MIT licen[cs]e", 3),
        (r"GitHub|Hugging Face", 1),
        (r"开源", 3),
    ),
    "Safety/alignment": (
        (r"\bsafety\b|alignment|red[- ]team|preparedness|system card|\bCBRN\b", 2),
        (r"安全|对齐", 2),
    ),
    "Incident": (
        (r"outage|breach|\bleak(?:ed|s)?\b|vulnerabilit|incident|lawsuit|\bsued\b", 3),
        (r"宕机|泄露|事故|漏洞|诉讼", 3),
    ),
    "Partnership": (
        (r"partner(?:ship|s with| with)|collaborat|\bdeal\b|agreement", 2),
        (r"合作|签约|联手", 2),
    ),
    "Personnel": (
        (r"\bhire[sd]?\b|\bjoins\b|appointed|steps down|resign|departs|\bleaves\b", 3),
        (r"加入|离职|任命|出任|加盟", 3),
    ),
    "Benchmark": (
        (r"\bbenchmarks?\b|leaderboard|state[- ]of[- ]the[- ]art|\bSOTA\b", 2),
        (r"MMLU|GPQA|SWE-bench|AIME|ARC-AGI|LMArena", 2),
        (r"基准|榜单|评测|排名", 2),
    ),
    "Commentary": (
        (r"\bopinion\b|op-ed|\bessay\b|I think|I believe|in my view|my take|thoughts on", 2),
        (r"观点|评论|我认为|我觉得", 2),
    ),
}


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_CAP_RES = {tag: [(_compile(p), w) for p, w in pats] for tag, pats in _CAPABILITY_PATTERNS.items()}
_TOPIC_RES = {tag: [(_compile(p), w) for p, w in pats] for tag, pats in _TOPIC_PATTERNS.items()}
_FLAGSHIP_RES = {
    name: re.compile(rf"(?<![A-Za-z0-9]){p}(?![A-Za-z])") for name, p in _FLAGSHIP_PATTERNS.items()
}


def _alias_regex(alias: str) -> str:
    if not alias.isascii():  # Chinese: no word boundaries to lean on
        return re.escape(alias)
    return rf"(?<![A-Za-z0-9]){re.escape(alias)}(?![A-Za-z0-9])"


# One alternation, longest alias first, so "Google DeepMind" wins over "Google" at a position.
_ALIAS_TO_ENTITY: dict[str, str] = {
    alias: name for name, aliases in ENTITY_ALIASES.items() for alias in aliases
}
_ENTITY_RE = re.compile(
    "|".join(
        _alias_regex(alias)
        for alias in sorted(
            {a for aliases in ENTITY_ALIASES.values() for a in aliases}, key=lambda a: (-len(a), a)
        )
    )
)
# The same alternation without the look-behind that opens every Latin alias: the look-behind
# first keeps the regex engine from skipping to the positions where an alias can start, and
# searching with it cost about 1 ms per kilobyte. `_entity_matches` applies the look-behind
# itself and finds what `_ENTITY_RE.finditer` finds (a test compares the two).
_BOUNDARY = re.compile(r"[A-Za-z0-9]")
_FAST_ENTITY_RE = re.compile(
    "|".join(
        re.escape(alias) + ("(?![A-Za-z0-9])" if alias.isascii() else "")
        for alias in sorted(_ALIAS_TO_ENTITY, key=lambda a: (-len(a), a))
    )
)
# A rejected match may be replaced by a Chinese alias at its position only if one began with
# a Latin letter or digit; none does, which `_entity_matches` relies on.
assert not any(a[0].isascii() for a in _ALIAS_TO_ENTITY if not a.isascii())


def _entity_matches(text: str) -> Iterator[str]:
    """The aliases `_ENTITY_RE.finditer(text)` matches, in order. At a position that follows a
    Latin letter or digit no Latin alias may start, and no Chinese one can where a Latin alias
    matched, so such a match means nothing starts there: the search goes on one further."""
    pos, search = 0, _FAST_ENTITY_RE.search
    while (match := search(text, pos)) is not None:
        start, alias = match.start(), match.group(0)
        if start and alias.isascii() and _BOUNDARY.match(text, start - 1):
            pos = start + 1
            continue
        yield alias
        pos = match.end()


def find_entities(text: str) -> list[str]:
    """Canonical entity names in order of first mention, each once."""
    found: list[str] = []
    for alias in _entity_matches(text):
        name = _ALIAS_TO_ENTITY[alias]
        if name not in found:
            found.append(name)
    return found


def find_flagship_models(text: str) -> list[str]:
    """Chinese flagship model families named in the text (model names, not bare companies)."""
    return [name for name, rx in _FLAGSHIP_RES.items() if rx.search(text)]


def _score(
    compiled: dict[str, list[tuple[re.Pattern[str], int]]], title: str, body: str
) -> dict[str, int]:
    scores: dict[str, int] = {}
    for tag, patterns in compiled.items():
        total = 0
        for rx, weight in patterns:
            total += weight * (TITLE_WEIGHT * len(rx.findall(title)) + len(rx.findall(body)))
        if total:
            scores[tag] = total
    return scores


def _top(scores: dict[str, int], order: Iterable[str]) -> tuple[str, ...]:
    # Highest score first; ties keep vocabulary order so the output is deterministic.
    rank = {tag: i for i, tag in enumerate(order)}
    ranked = sorted(scores, key=lambda tag: (-scores[tag], rank[tag]))
    return tuple(ranked[:MAX_TAGS_PER_AXIS])


def _rank_entities(title: str, body: str) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for text, weight in ((title, TITLE_WEIGHT), (body, 1)):
        for alias in _entity_matches(text):
            name = _ALIAS_TO_ENTITY[alias]
            counts[name] = counts.get(name, 0) + weight
    order = find_entities(f"{title}\n{body}")
    return _top(counts, order)


def tag_text(title: str, body: str) -> Tags:
    """Tags on the three axes, at most three each, most relevant first."""
    return Tags(
        capabilities=_top(_score(_CAP_RES, title, body), CAPABILITIES),
        entities=_rank_entities(title, body),
        topics=_top(_score(_TOPIC_RES, title, body), TOPICS),
    )


# Model names with a version, as a title writes them: a family word and its number ("Gemini
# 2.5", "Qwen3", "Llama 4") or one token carrying a digit ("DeepSeek-R1", "o3-mini",
# "gpt-oss-120b"). Used for follow-up papers (editor/rules.py: release_before).
_MODEL_FAMILIES = (
    "gpt|claude|gemini|gemma|llama|qwen|qwq|grok|kimi|deepseek|glm|sora|veo|genie|mistral|"
    "opus|sonnet|haiku|phi|dinov|ernie|hunyuan|doubao|minimax|codex|imagen|mixtral|"
    "magistral|devstral"
)
_FAMILY_SPACE = re.compile(rf"(?<![A-Za-z0-9])({_MODEL_FAMILIES})\s+(?=\d)", re.IGNORECASE)
_MODEL_TOKEN = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
_NOT_MODELS = re.compile(r"(?:q[1-4]|h1|h2|covid-19|fy\d+|sb-?\d+|x\d+)", re.IGNORECASE)


def find_model_names(text: str) -> dict[str, str]:
    """Versioned model names in `text`: canonical form ("gemini2.5", "deepseek-r1") → the
    spelling first met ("Gemini 2.5"). "Qwen-3" and "Qwen3", "GPT 5" and "GPT-5" are one name;
    "Qwen3-Coder" is its own."""
    found: dict[str, str] = {}
    joined = _FAMILY_SPACE.sub(r"\1", text)  # "Gemini 2.5" read as one token
    for match in _MODEL_TOKEN.finditer(joined):
        word = match.group(0).rstrip(".")
        if not any(ch.isdigit() for ch in word) or _NOT_MODELS.fullmatch(word):
            continue
        key = re.sub(r"^([a-z]+)-?(\d)", r"\1\2", word.lower())
        if key not in found:
            found[key] = _spelled(word, text)
    return found


def _spelled(word: str, text: str) -> str:
    """`word` as the text writes it, with the space between family and version kept."""
    m = re.match(rf"({_MODEL_FAMILIES})(\d.*)$", word, re.IGNORECASE)
    if m and re.search(rf"{re.escape(m.group(1))}\s+{re.escape(m.group(2))}", text):
        return f"{m.group(1)} {m.group(2)}"
    return word
