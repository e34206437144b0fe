#!/usr/bin/env python3
"""Writes small tokenizer.json files in the layouts of five model families (and three of the parts none of them uses), each
with a byte-pair vocabulary trained here on a fixed text, and cases.json: the texts the tests encode. The expected ids
(<name>.expected.json) are the Hugging Face tokenizers library's, written by tests/TokenizerReference:

    /usr/bin/python3 make_tokenizers.py
    for t in *.tokenizer.json; do c=cases.json; case $t in bert*) c=wordpiece-cases.json;; t5*|xlmr*|albert*|unigram*|wordlevel*) c=unigram-cases.json;; esac
        dotnet run --project ../../../TokenizerReference -- reference $t $c ${t%.tokenizer.json}.expected.json; done

The pipelines (normalizer, pre-tokenizer, post-processor, decoder, added tokens, model options) are those of GPT-2, LLaMA 3,
Qwen2, LLaMA 2 (tokenizers' newer SentencePiece conversion) and Mistral 7B (the older, Metaspace one); the vocabularies are
this script's, a few hundred merges each, so that the files stay small. Then BERT's WordPiece files (uncased and cased),
SentencePiece's unigram files in T5's, XLM-RoBERTa's and ALBERT's layouts and one with byte fallback (their charsmap compiled
here, in nmt_nfkc's way), and a word-level one; pairs.expected.json comes from make_pairs.js."""
import json
from collections import Counter

CORPUS = """The quick brown fox jumps over the lazy dog. It's the dog's day: they've said we'll see, and I'm sure she'd agree.
Numbers like 12, 345 and 2024 appear; so do 3.14159 and 1,000,000. Code too: for (int i = 0; i < n; i++) { sum += x[i]; }
def tokenize(text):\n    return [t for t in text.split() if t]\n\nNaïve café résumé — “quotes” and ‘apostrophes’.
Hello world, hello again, hello there! The recurrent network reads the sequence; the attention reads every step.
你好世界，这是中文。日本語もあります。 Emoji 🙂 and 👍 too. Ελληνικά, русский, עברית.
""" * 3


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE = bytes_to_unicode()


def train(words, base, merges_wanted, join=lambda a, b: a + b):
    """Plain BPE: words (as tuples of symbols) with counts, merged by the most frequent pair (ties by the pair's text) into
    join(a, b)."""
    vocab = list(dict.fromkeys(base))
    words = Counter(words)
    merges = []
    while len(merges) < merges_wanted:
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        if join(a, b) not in vocab:
            vocab.append(join(a, b))
        merged = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(join(a, b))
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    return vocab, merges


def byte_level_words(text):
    # an approximation of GPT-2's split, enough to train on: a space joins the word after it
    words, current = [], ""
    for ch in text:
        if ch == " " and current:
            words.append(current)
            current = " "
        elif ch == "\n":
            if current:
                words.append(current)
            words.append("\n")
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    return [tuple(BYTE[b] for b in w.encode("utf-8")) for w in words]


def byte_level(name, pre_tokenizer, added, post, normalizer=None, ignore_merges=False, merges=300, whole=()):
    base = [BYTE[b] for b in range(256)]
    vocab, merge_list = train(byte_level_words(CORPUS), base, merges)
    # words in the vocabulary that no merge makes (LLaMA 3's ignore_merges takes such a piece whole)
    vocab += ["".join(BYTE[b] for b in w.encode("utf-8")) for w in whole]
    ids = {t: i for i, t in enumerate(vocab)}
    start = len(ids)
    added_tokens = [{"id": start + i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": norm, "special": True}
                    for i, (c, norm) in enumerate(added)]
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
             "fuse_unk": False, "byte_fallback": False, "vocab": ids, "merges": [f"{a} {b}" for a, b in merge_list]}
    if ignore_merges:
        model["ignore_merges"] = True
    write(name, normalizer, pre_tokenizer, post(added_tokens), {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          model, added_tokens)


def sentencepiece(name, normalizer, pre_tokenizer, added_normalized, merges=250, extra_added=(), fuse_unk=True, byte_fallback=True, decoder=None):
    text = CORPUS.replace(" ", "▁")
    words = [tuple("▁" + w) for w in text.replace("\n", "▁").split("▁") if w]
    words += [("▁", "▁")] * 40  # runs of spaces: "▁▁" merges first (where Metaspace splits before each "▁", it stays apart)
    chars = sorted(set(ch for w in words for ch in w))
    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)] if byte_fallback else []
    vocab, merge_list = train(words, specials + byte_tokens + chars, merges)
    ids = {t: i for i, t in enumerate(vocab)}
    added_tokens = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": added_normalized, "special": True}
                    for i, c in enumerate(specials)]
    for content, options in extra_added:
        added_tokens.append({"id": len(ids) + len(added_tokens) - 3, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                             "normalized": False, "special": False, **options})
    model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None, "end_of_word_suffix": None,
             "fuse_unk": fuse_unk, "byte_fallback": byte_fallback, "vocab": ids, "merges": [[a, b] for a, b in merge_list]}
    post = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    decoder = decoder or {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
                                                           {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    write(name, normalizer, pre_tokenizer, post, decoder, model, added_tokens)


def write(name, normalizer, pre_tokenizer, post_processor, decoder, model, added_tokens):
    doc = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens, "normalizer": normalizer,
           "pre_tokenizer": pre_tokenizer, "post_processor": post_processor, "decoder": decoder, "model": model}
    with open(f"{name}.tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)


LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def template(token):
    return lambda added: {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": token, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": token, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {token: {"id": token, "ids": [next(t["id"] for t in added if t["content"] == token)], "tokens": [token]}}}]}


byte_level("gpt2", {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}, [("<|endoftext|>", True)],
           lambda added: {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True})
byte_level("llama3", {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
                                                          {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
           [("<|begin_of_text|>", False), ("<|end_of_text|>", False), ("<|start_header_id|>", False), ("<|end_header_id|>", False), ("<|eot_id|>", False)],
           template("<|begin_of_text|>"), ignore_merges=True, whole=[" tokenizers", "quickly"])
byte_level("qwen2", {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
                                                         {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
           [("<|endoftext|>", False), ("<|im_start|>", False), ("<|im_end|>", False)],
           lambda added: {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}, normalizer={"type": "NFC"})
sentencepiece("llama2", {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
              None, added_normalized=True)
sentencepiece("mistral", None, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}, added_normalized=False,
              extra_added=[("[INST]", {}), ("[/INST]", {})])
# the parts no family above uses: lowercase and stripped text, punctuation and digits split, Metaspace splitting before each
# word, unknown characters without byte fallback (each its own <unk>), added tokens that take the spaces beside them or stand
# only as whole words, and a Metaspace decoder
sentencepiece("misc", {"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "Lowercase"}, {"type": "NFKC"}]},
              {"type": "Sequence", "pretokenizers": [{"type": "Punctuation", "behavior": "Isolated"}, {"type": "Digits", "individual_digits": True},
                                                     {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}]},
              added_normalized=False, fuse_unk=False, byte_fallback=False,
              extra_added=[("<mask>", {"lstrip": True, "rstrip": False, "single_word": False}), ("<sep>", {"lstrip": False, "rstrip": True, "single_word": False}),
                           ("cat", {"lstrip": False, "rstrip": False, "single_word": True})],
              decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True})

def affixed(name):
    """A BPE whose symbols carry a continuing_subword_prefix ("##") and an end_of_word_suffix ("</w>"), as OpenAI GPT's and
    CLIP's: a merge of "a" and "##b" makes "ab" (the right part's prefix dropped)."""
    words = Counter()
    for w in CORPUS.lower().split():
        words[tuple(ch if i == 0 else "##" + ch for i, ch in enumerate(w[:-1])) + ((w[-1] if len(w) == 1 else "##" + w[-1]) + "</w>",)] += 1
    base = sorted(set(sym for w in words for sym in w))
    vocab, merges = train(words, ["<unk>"] + base, 200, join=lambda a, b: a + b[2:] if b.startswith("##") else a + b)
    merges = [list(m) for m in merges]
    model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": "##", "end_of_word_suffix": "</w>",
             "fuse_unk": False, "byte_fallback": False, "vocab": {t: i for i, t in enumerate(vocab)}, "merges": merges}
    # Oniguruma's \w (letters, marks, numbers, connector punctuation) in a Split, and the regex crate's in Whitespace
    pre = {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated", "invert": False},
                                                 {"type": "Whitespace"}]}
    write(name, {"type": "Lowercase"}, pre, None, None, model,
          [{"id": len(vocab), "content": "<mask>", "single_word": True, "lstrip": False, "rstrip": False, "normalized": False, "special": True}])


affixed("affixes")
# where the library's offsets and Oniguruma's matches decide: Metaspace's "first" after a normalizer removed the text's first
# characters (Strip, a Replace by nothing, two characters replaced by one: no "▁" then), ^ at every line's start (Oniguruma's
# Ruby syntax), patterns that match the empty string (Oniguruma skips an empty match where the previous one ended), and added tokens whose ids the file gives wrongly (the library gives a token in the
# vocabulary its id there, the others the next ids past the vocabulary, in the file's order)
sentencepiece("edges", {"type": "Sequence", "normalizers": [{"type": "Strip", "strip_left": True, "strip_right": True},
                                                          {"type": "Replace", "pattern": {"Regex": "^-+"}, "content": ""},
                                                          {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
                                                          {"type": "Replace", "pattern": {"Regex": "^#"}, "content": ""}]},
              {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "x*"}, "behavior": "Isolated", "invert": False},
                                                     {"type": "Split", "pattern": {"Regex": "q*"}, "behavior": "MergedWithNext", "invert": True},
                                                     {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}]},
              added_normalized=False, extra_added=[("<mask>", {"id": 999}), ("▁the", {"id": 5000}), ("<sep>", {"id": 1}), ("<mask>", {"id": 7, "single_word": True})],
              decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True})


def wordpiece(name, lowercase, chinese, post, cleanup, max_chars):
    """BERT's pipeline: BertNormalizer, BertPreTokenizer, a WordPiece vocabulary built here (every character of the corpus alone
    and after "##" but "q", left out so that words holding it are unknown; its frequent words whole; their first two to four
    characters and last one to three after "##"), its special tokens, and the WordPiece decoder."""
    import unicodedata
    text = CORPUS
    if lowercase:
        text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
    words = Counter()
    for w in "".join(" " + c + " " if unicodedata.category(c).startswith("P") or (c.isascii() and not c.isalnum() and not c.isspace()) else c for c in text).split():
        words[w] += 1
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = sorted(set(c for w in words for c in w) - {"q"})
    vocab = specials + chars + ["##" + c for c in chars]
    vocab += [w for w, _ in words.most_common(60) if "q" not in w]
    for w in words:
        if len(w) > 4 and "q" not in w:
            vocab += [w[:k] for k in (2, 3, 4)] + ["##" + w[-k:] for k in (1, 2, 3)]
    vocab = list(dict.fromkeys(vocab))
    model = {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": max_chars,
             "vocab": {t: i for i, t in enumerate(vocab)}}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for i, t in enumerate(specials)]
    write(name, {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": chinese, "strip_accents": None, "lowercase": lowercase},
          {"type": "BertPreTokenizer"}, post, {"type": "WordPiece", "prefix": "##", "cleanup": cleanup}, model, added)


# BERT uncased (bert-base-uncased, all-MiniLM-L6-v2): lower case, accents stripped, CJK ideographs apart, [CLS] … [SEP] by a
# template, words over 20 characters unknown; BERT cased by the older BertProcessing, no CJK handling, no decoder cleanup
wordpiece("bert", True, True, {"type": "TemplateProcessing",
                                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                                "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                                         {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
          cleanup=True, max_chars=20)
wordpiece("bertcased", False, False, {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}, cleanup=False, max_chars=100)

def charsmap(rules):
    """A precompiled_charsmap as SentencePiece compiles its normalization rules: the trie's size in bytes, a darts-clone double
    array over the keys' UTF-8 bytes (each unit a label in its low byte, a leaf flag in bit 8 and the offset to its children from
    bit 10; a leaf's unit, at its node's base, holds where the replacement starts, with bit 31 set), then the replacements, each
    ended by a NUL byte. Built here breadth first, each node at the lowest base whose slots are free."""
    import base64
    import struct
    pool, trie = bytearray(), {}
    for key in sorted(rules):
        node = trie
        for b in key.encode("utf-8"):
            node = node.setdefault(b, {})
        node[-1] = len(pool)
        pool += rules[key].encode("utf-8") + b"\0"
    units, used, bases = [0] * 1024, {0}, set()
    queue = [(trie, 0)]
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(b for b in node if b >= 0)
        base = 1
        while base in bases or any(s in used for s in [base ^ c for c in labels] + ([base] if -1 in node else [])):
            base += 1
        bases.add(base)
        while base + 256 >= len(units):
            units += [0] * 1024
        assert pos ^ base < 1 << 21
        units[pos] |= (pos ^ base) << 10 | (1 << 8 if -1 in node else 0)
        if -1 in node:
            used.add(base)
            units[base] = node[-1] | 1 << 31
        for c in labels:
            used.add(base ^ c)
            units[base ^ c] = c
            queue.append((node[c], base ^ c))
    # (as long as every base's slots reach, base ^ 255: a lookup of any byte stays in the array, as the library indexes it unchecked)
    del units[(max(bases) | 255) + 1:]
    blob = struct.pack("<I", 4 * len(units)) + b"".join(struct.pack("<I", u) for u in units) + bytes(pool)
    return base64.b64encode(blob).decode("ascii")


def nmt_nfkc_rules():
    """Rules in the way of SentencePiece's nmt_nfkc, over the characters the cases use and some blocks around them: NFKC of
    single characters (compatibility forms, ligatures, full-width, circled and mathematical letters), letters with a combining
    mark composed, control characters removed and other spaces made a space; and one key that a shorter key begins ("ﬁ" and a
    combining acute), which the library never reaches: it takes the shortest key."""
    import unicodedata
    chars = set(CORPUS) | set("".join(CASES + WORDPIECE_CASES + UNIGRAM_EXTRA))
    for lo, hi in ((0xA0, 0x250), (0x2000, 0x2200), (0x2460, 0x24F0), (0x3000, 0x3040), (0x3380, 0x33E0), (0xFB00, 0xFB07), (0xFF01, 0xFF5F), (0x1D400, 0x1D434)):
        chars |= {chr(c) for c in range(lo, hi)}
    rules = {c: unicodedata.normalize("NFKC", c) for c in chars if unicodedata.normalize("NFKC", c) != c}
    for letter in "aeiouyAEIOUYncNCsz":
        for mark in "\u0300\u0301\u0302\u0303\u0308\u0327\u030c":
            if unicodedata.normalize("NFC", letter + mark) != letter + mark:
                rules[letter + mark] = unicodedata.normalize("NFKC", letter + mark)
    for c in list(range(1, 9)) + [0xB] + list(range(0xE, 0x20)) + [0x7F, 0x9F]:  # (U+008F left to Nmt)
        rules[chr(c)] = ""
    for c in "\t\n\f\r\u1680\u200b\u200c\u200d\u200e\u200f\u2028\u2029\ufeff":
        rules[c] = " "
    rules["\ufb01\u0301"] = "never"
    return rules


def unigram(name, normalizer, pre_tokenizer, post, specials, unk, byte_fallback=False, added=(), lower=False, decoder=None):
    """A unigram vocabulary of SentencePiece's shape: "▁" and the corpus's characters but "q", "✓" and the emoji (so that words
    holding them have unknown stretches), then its most frequent stretches of two to six characters within words ("▁" first
    where a word begins), each scored by the log of its share of the stretches; the special tokens first, scored 0."""
    import math
    import unicodedata
    text = unicodedata.normalize("NFKC", CORPUS.lower() if lower else CORPUS)
    words = ["▁" + w for w in text.split()]
    counts = Counter()
    for w in words:
        for i in range(len(w)):
            for k in range(1, 7):
                if i + k <= len(w):
                    counts[w[i:i + k]] += 1
    unknown = {"q", "✓", "🙂", "👍"}
    pieces = [p for p, c in counts.most_common() if len(p) == 1 and p not in unknown]
    pieces += [p for p, c in counts.most_common() if len(p) > 1 and c >= 3 and not set(p) & unknown][:500]
    total = sum(counts[p] for p in pieces)
    vocab = [[t, 0.0] for t in specials]
    if byte_fallback:
        vocab += [[f"<0x{b:02X}>", 0.0] for b in range(256)]
    vocab += [[p, math.log(counts[p] / total)] for p in pieces if p not in specials]
    added_tokens = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                    for i, t in enumerate(specials)]
    for content, options in added:
        added_tokens.append({"id": len(vocab) + len(added_tokens) - len(specials), "content": content, "single_word": False, "lstrip": False,
                             "rstrip": False, "normalized": False, "special": True, **options})
    model = {"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": byte_fallback}
    decoder = decoder or {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    write(name, normalizer, pre_tokenizer, post(added_tokens), decoder, model, added_tokens)


def around(first, last):
    """A template with the special tokens first (if any) and last around the text."""
    def post(added):
        ids = {t["content"]: t["id"] for t in added}
        single = ([{"SpecialToken": {"id": first, "type_id": 0}}] if first else []) + [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": last, "type_id": 0}}]
        pair = single + [{"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": last, "type_id": 1}}]
        return {"type": "TemplateProcessing", "single": single, "pair": pair,
                "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in (first, last) if t}}
    return post


CASES = [
    "", " ", "Hello world", " Hello  world ", "The quick brown fox jumps over the lazy dog.", "I'm here; they've gone. WE'LL SEE, DON'T WE? It'S",
    "Numbers 12 345 2024 3.14159 1,000,000 and 1234567", "for (int i = 0; i < n; i++) { sum += x[i]; }",
    "def tokenize(text):\n    return [t for t in text.split() if t]\n\n\nprint(1)", "Naïve café résumé — “quotes” ‘apostrophes’ e\u0301",
    "你好世界，这是中文。日本語", "Emoji 🙂 and 👍🏽; love🙂you 🙂🙂", "𝐀𝐁𝐂 𝟏𝟐 𠀀 astral", "tabs\tand\r\nlines\n\n  spaced   out  ",
    "a\u00a0b\u3000c", "unknown ✓ ★ ☃ ⌘ characters", "<|endoftext|>Hi<|endoftext|>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<|im_start|>user\nHi there<|im_end|>\n", "<s>Hello</s> <unk>", "[INST] What is 2+2? [/INST] 4</s>", "ﬁne Ｆｕｌｌ ½",
    "a <mask> b <mask>c", "one<sep>   two <sep> three", "cat catalog the cat, cat's", "  Leading and trailing.  ", "x" * 40, "hello " * 12,
    "quickly tokenizers, quickly", "hello  world   again    and     on",
    "İstanbul ISTANBUL", "हिन्दी and x² Ⅻ_y 10⁴) H₂O) ①) ¼) a\u20dd)", "<mask> a<mask> <mask>\u0301 <mask>\u200d 𝐀<mask> cat\u0301",
    "--- dashes first", "  - spaced dash", "--dash first", "``quoted'' text", "#one\n#two", "xxaxbxxc qquiz q x", "<sep>the ▁the <mask>", " <mask> the", "x<mask>y",
]
# what only BERT's pipeline sees: control and format characters, private use and unassigned code points, an emoji newer than
# Unicode 9, CJK beside Latin, the decoder's cleanup of contractions and punctuation, the special tokens in the text, a word
# past max_input_chars_per_word, accents and compatibility characters
WORDPIECE_CASES = CASES + [
    "Control\x00chars\x07here\u0085and\u200bthere\ufffd. \x1b[0m", "soft\u00adhyphen private\ue000use unassigned\u0378 \U0001F970 new emoji",
    "ab你好cd 中文字符 ㄅ 한국어", "Don't do not stop. Isn't it? Yes! They're here, we've come, I'm sure ' quoted ' end",
    "[CLS] literal [SEP] and [MASK] [UNK]", "supercalifragilisticexpialidocious words", "Ünïcödé ÀÉÎÕÜ ñ ç ß ﬁ Ǆ", "x\ty\u00a0z\u3000w\u2028v",
    "hello\u0300 combining\u0301 a\u0903b", "$5 + 3 = 8 | a^b ~ c` @user #tag",
]
# what only the unigram files see: SentencePiece's rules (control characters leading the text, zero-width and other spaces,
# compatibility forms, composed marks, CR LF as one cluster, a cluster of more than five bytes, the key no lookup reaches), a
# byte token's text in the text, unknown stretches side by side
UNIGRAM_EXTRA = [
    "\x07\x01leading control", "\x8fC1 control first", "\u200bzero width first", "\ufb01\u0301 shortest key first", "e\u0301 a\u0308 n\u0303 composed; c\u0327a s\u030c",
    "Ｆｕｌｌ　ｗｉｄｔｈ！ ①⑳ ½ ™ … ㎏ 𝐀𝐛", "tabs\tand\r\nCRLF\r\nend\r\n", "a\u00a0b\u2009c\u202fd\u3000e", "x\u0301\u0302\u0303 many marks",
    "🇺🇸👍🏽👨\u200d👩\u200d👧 clusters", "<0x41> literal <0xE2> bytes", "qqq q✓q 🙂👍 quiz", "The  quick   brown",
]
UNIGRAM_CASES = WORDPIECE_CASES + UNIGRAM_EXTRA
RULES = charsmap(nmt_nfkc_rules())
# T5's layout (t5-small): the charsmap alone, whitespace split, Metaspace, "</s>" after the text, an extra id past the vocab
unigram("t5", {"type": "Precompiled", "precompiled_charsmap": RULES},
        {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}]},
        around(None, "</s>"), ["<pad>", "</s>", "<unk>"], 2, added=[("<extra_id_0>", {}), ("<extra_id_1>", {})])
# XLM-RoBERTa's (xlm-roberta-base, multilingual-e5): the charsmap and runs of spaces made one, Metaspace, <s> … </s> by
# RobertaProcessing, a <mask> that takes the space before it and is matched in the normalized text
unigram("xlmr", {"type": "Sequence", "normalizers": [{"type": "Precompiled", "precompiled_charsmap": RULES},
                                                   {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        lambda added: {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True, "add_prefix_space": True},
        ["<s>", "<pad>", "</s>", "<unk>"], 3, added=[("<mask>", {"lstrip": True, "normalized": True})])
# ALBERT's (albert-base-v2): quotes replaced, NFKD, accents stripped, lower case, then the charsmap; [CLS] … [SEP]
unigram("albert", {"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
                                                     {"type": "Replace", "pattern": {"String": "''"}, "content": "\""},
                                                     {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
                                                     {"type": "Precompiled", "precompiled_charsmap": RULES}]},
        {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}]},
        around("[CLS]", "[SEP]"), ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"], 1, lower=True)
# the parts none of those uses: SentencePiece's newer conversion (the charsmap, trailing spaces stripped, runs of spaces made
# "▁"), Metaspace's "first" without splitting (where the charsmap removed the text's first characters the library still
# prepends; where Nmt did, not), Nmt, byte fallback and its decoder
unigram("unigrambytes", {"type": "Sequence", "normalizers": [{"type": "Precompiled", "precompiled_charsmap": RULES}, {"type": "Nmt"},
                                                           {"type": "Strip", "strip_left": False, "strip_right": True},
                                                           {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]},
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
        around("<s>", "</s>"), ["<unk>", "<s>", "</s>"], 0, byte_fallback=True,
        decoder={"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}]})
# a word-level model (a vocabulary of whole words, the rest unknown) over lower-cased text split by Whitespace, the template
# around it
words = Counter(w for w in __import__("re").findall(r"\w+|[^\w\s]+", CORPUS.lower()))
wordlevel_vocab = {t: i for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]"] + [w for w, _ in words.most_common(120)])}
write("wordlevel", {"type": "Lowercase"}, {"type": "Whitespace"}, around("[CLS]", "[SEP]")(
    [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]"])]),
      None, {"type": "WordLevel", "vocab": wordlevel_vocab, "unk_token": "[UNK]"},
      [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]"])])
with open("unigram-cases.json", "w", encoding="utf-8") as f:
    json.dump(UNIGRAM_CASES, f, ensure_ascii=False, indent=1)
with open("cases.json", "w", encoding="utf-8") as f:
    json.dump(CASES, f, ensure_ascii=False, indent=1)
with open("wordpiece-cases.json", "w", encoding="utf-8") as f:
    json.dump(WORDPIECE_CASES, f, ensure_ascii=False, indent=1)
print("wrote", len(CASES), "cases,", len(WORDPIECE_CASES), "for WordPiece,", len(UNIGRAM_CASES), "for Unigram, and 15 tokenizers")
