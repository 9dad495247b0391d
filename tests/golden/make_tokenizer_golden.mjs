// Goldens for graft::tokenizers from the reference implementation, the JS port of Hugging Face's
// tokenizers (npm @huggingface/tokenizers), cross-checked against gpt-3-encoder for GPT-2.
//
//   mkdir /tmp/npm-tok && cd /tmp/npm-tok && npm install @huggingface/tokenizers@0.2.0 gpt-3-encoder@1.1.4
//   node tests/golden/make_tokenizer_golden.mjs corpus /tmp/npm-tok/node_modules   # once: the corpus
//   (train the WordPiece and byte-fallback tokenizers with graft: docs/text.md, "Goldens")
//   node tests/golden/make_tokenizer_golden.mjs golden /tmp/npm-tok/node_modules   # the goldens
//
// Writes into tests/golden/tokenizers/:
//   corpus.json.gz  the texts: paragraphs of Debian's license texts (/usr/share/common-licenses),
//                   package descriptions (`apt-cache dumpavail`), adversarial strings. Committed,
//                   so that the goldens do not depend on this machine's package lists.
//   golden.json.gz  per text and tokenizer: ids, byte offsets (where the tokens spell the text,
//                   so offsets follow from them), and the reference's decode of the ids; for the
//                   long texts (1 MiB of one word, …) the token count and an FNV-1a hash of the ids.
// gpt2_encoder.json.gz / gpt2_vocab.bpe.gz are gpt-3-encoder's copies of GPT-2's files (MIT).
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, gunzipSync } from "node:zlib";

const [mode, modules] = process.argv.slice(2);
if (!["corpus", "golden"].includes(mode) || !modules) {
  console.error("usage: node make_tokenizer_golden.mjs corpus|golden NODE_MODULES_DIR");
  process.exit(2);
}
const out_dir = join(dirname(fileURLToPath(import.meta.url)), "tokenizers");
const require = createRequire(join(modules, "noop.js"));
const read_gz = (name) => gunzipSync(readFileSync(join(out_dir, name))).toString("utf8");
const write_gz = (name, value) => writeFileSync(join(out_dir, name), gzipSync(JSON.stringify(value), { level: 9 }));

// ---- the corpus ---------------------------------------------------------------------------------
function license_paragraphs() {
  const picks = [["Apache-2.0", 12000], ["Artistic", 6000], ["BSD", 2000], ["GPL-3", 14000], ["MPL-2.0", 8000], ["CC0-1.0", 4000]];
  const texts = [];
  for (const [name, bytes] of picks) {
    const text = readFileSync(`/usr/share/common-licenses/${name}`, "utf8").slice(0, bytes);
    for (const p of text.split(/\n\s*\n/)) if (p.trim().length > 0) texts.push(p);
  }
  return texts;
}

function package_descriptions(count) {
  const dump = execSync("apt-cache dumpavail", { maxBuffer: 1 << 30 }).toString("utf8");
  const all = [];
  for (const stanza of dump.split("\n\n")) {
    const m = stanza.match(/^Description(?:-en)?: (.*(?:\n .*)*)/m);
    if (m) all.push(m[1].replace(/\n \.\n/g, "\n\n").replace(/\n /g, "\n"));
  }
  const unique = [...new Set(all)].sort();
  const step = Math.max(1, Math.floor(unique.length / count));
  return unique.filter((_, i) => i % step === 0).slice(0, count);
}

const adversarial = [
  "Hello world", "", " ", "a", "  leading and trailing  ", "multiple   spaces\t\ttabs \n\n\nnewlines",
  "I'll we've they're don't it's 'quoted' '' CAPS'S DON'T", "3.14159 1,000,000 ½ ² ٣ 𝟘 ⅷ",
  "!!!???... ---- ==== ((())) @#$%^&*_+~`|\\/<>", "I ❤️ 🦀 and 👍🏽!", "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 🇩🇪🇫🇷 flags",
  "e\u0301 vs \u00e9, A\u030a vs \u00c5 vs \u212b", "Zalgo: Z̴̡̪͕a̷͚l̸͉g̶̜o̵͎", "ﬁ ligature ﬀ ﬃ, ｆｕｌｌｗｉｄｔｈ", "Crème brûlée, naïve café, Ångström, Ærøskøbing",
  "日本語のテキスト、中文文本。한국어 텍스트", "𠀀𠀁 𪚥 supplementary CJK", "שלום עולם", "مرحبا بالعالم 123",
  "left\u200eright\u200fmarks \u202aembedding\u202c", "Ελληνικά ΣΊΣΥΦΟΣ ΟΔΥΣΣΕΥΣ ΣΑΣ", "İstanbul ıi IJ ǅ", "straße STRASSE ẞ",
  "tab\there\nnewline\r\nCRLF \u000b\u000c vt ff", "nul \u0000 bell \u0007 esc \u001b[31mred\u001b[0m del \u007f",
  "soft\u00adhyphen zero\u200bwidth bom\ufeffhere", "ideographic\u3000space nbsp\u00a0thin\u2009ems\u2003", "private \ue000\uf8ff use",
  "unassigned \u0378 and noncharacter \ufdd0 \uffff", "replacement \ufffd char", "<|endoftext|>", "before<|endoftext|>after <|endoftext|> x",
  "[CLS] [SEP] [MASK] [UNK] [PAD] <s> </s> <unk>", "email@example.com https://www.debian.org/?q=1&x=2#frag",
  "snake_case camelCase PascalCase kebab-case SCREAMING_CASE", "x".repeat(300), "ab".repeat(700), "😀".repeat(200),
  " ".repeat(500), "\n".repeat(100), "a b ".repeat(500), "Ğ ġ Ā ā Ċ ċ ▁ ▁▁ ##s ĠĠ",
  "int main() {\n    return 0; // comment\n}\n", "$ sudo apt-get install -y libfoo-dev=1.2.3~rc1+dfsg-2",
];
// For the Split pre-tokenizer's patterns (Llama-3, Qwen2): case-folded contractions, digit runs,
// \r\n runs, the characters where \p{White_Space} and JavaScript's \s differ (U+0085, U+FEFF).
const split_adversarial = [
  "DON'T WE'LL I'M SHE'D 'S 'Re 'vE 'LL'd x'", "1234567890 12 123 1234 ٣٤٥٦٧ ½¾ 𝟘𝟙𝟚𝟛", "$100,000.00 v1.2.3 3.14e-10 0x1F",
  "line\r\n\r\nnext\n\n\n  \n\tend \n", "a\u0085b\u0085 \u000b\ufeff x \u0085\u0085y", "'ſ 'K long s ſ and Kelvin K",
  "  !!! ?? ..\n\n#include <x>\r\n", "(x)=>{return x*2;}\n\n\n", " \n \n\r x", "\u00a0\u00a0word\u3000\u3000",
];

// ---- the tokenizers -----------------------------------------------------------------------------
function gpt2_json() {
  const vocab = JSON.parse(read_gz("gpt2_encoder.json.gz"));
  const merges = read_gz("gpt2_vocab.bpe.gz").split("\n").slice(1).filter((l) => l.length > 0);
  const byte_level = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: byte_level,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false,
             byte_fallback: false, vocab, merges },
    post_processor: byte_level, decoder: byte_level,
  };
}

// Llama-3- and Qwen2-style tokenizer.json files: their real pre-tokenizers (a Split with the
// model's regex, then ByteLevel without its own regex), post-processors and decoders, on GPT-2's
// vocabulary and merges. The templates (no vocabulary, no merges) are committed; the tests fill
// them from the GPT-2 files as split_json does.
const SPLIT_TEMPLATES = {
  llama3: {
    regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    normalizer: null, ignore_merges: true, bos: "<|begin_of_text|>",
  },
  qwen2: {
    regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    normalizer: { type: "NFC" }, ignore_merges: false, bos: null,
  },
};

function split_template(name) {
  const t = SPLIT_TEMPLATES[name];
  const added = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const added_tokens = [added(50256, "<|endoftext|>")];
  let post_processor = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  if (t.bos) {
    added_tokens.push(added(50257, t.bos));
    post_processor = {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: t.bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: t.bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
             { SpecialToken: { id: t.bos, type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { [t.bos]: { id: t.bos, ids: [50257], tokens: [t.bos] } },
    };
  }
  return {
    version: "1.0", truncation: null, padding: null, added_tokens, normalizer: t.normalizer,
    pre_tokenizer: { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { Regex: t.regex }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ] },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false,
             byte_fallback: false, ignore_merges: t.ignore_merges, vocab: {}, merges: [] },
    post_processor, decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
  };
}

function split_json(template) {
  const gpt2 = gpt2_json();
  return { ...template, model: { ...template.model, vocab: gpt2.model.vocab, merges: gpt2.model.merges } };
}

// A T5-style Unigram tokenizer.json (Precompiled normalizer, WhitespaceSplit then Metaspace, "</s>"
// appended, Metaspace decoder) whose vocabulary is built here from the corpus: the 4000 most
// frequent substrings (up to 8 characters) of the '▁'-prefixed words plus every character seen
// twice, each scored by the log of its relative frequency.
function unigram_json(corpus) {
  const counts = new Map();
  for (const text of corpus) {
    for (const word of text.match(/\S+/g) || []) {
      const chars = ["\u2581", ...word];
      for (let i = 0; i < chars.length; ++i)
        for (let n = 1; n <= 8 && i + n <= chars.length; ++n) {
          const piece = chars.slice(i, i + n).join("");
          counts.set(piece, (counts.get(piece) ?? 0) + 1);
        }
    }
  }
  const by_count = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const chosen = new Map(by_count.slice(0, 4000));
  for (const [piece, count] of by_count) if ([...piece].length === 1 && count >= 2) chosen.set(piece, count);
  const total = [...chosen.values()].reduce((a, b) => a + b, 0);
  const pieces = [...chosen.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const vocab = [["<pad>", 0], ["</s>", 0], ["<unk>", 0], ...pieces.map(([p, c]) => [p, Math.round(Math.log(c / total) * 1e4) / 1e4])];
  const added = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const metaspace = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true };
  return {
    version: "1.0", truncation: null, padding: null, added_tokens: [added(0, "<pad>"), added(1, "</s>"), added(2, "<unk>")],
    normalizer: { type: "Precompiled", precompiled_charsmap: "" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, metaspace] },
    model: { type: "Unigram", unk_id: 2, vocab, byte_fallback: false },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } },
             { Sequence: { id: "B", type_id: 1 } }, { SpecialToken: { id: "</s>", type_id: 1 } }],
      special_tokens: { "</s>": { id: "</s>", ids: [1], tokens: ["</s>"] } },
    },
    decoder: metaspace,
  };
}

// Offsets of the Unigram tokens where the normalizer leaves the text as it is (NFKC-stable, no
// character it drops or turns into a space other than \t \n \r, no combining mark: graft gives a
// normalized segment one span) and no token is <unk>: each word is '▁' (the span of its first
// character) and its characters.
function unigram_offsets(text, tokens) {
  if (text.normalize("NFKC") !== text || /\p{M}/u.test(text)) return null;
  if (/[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F\u008F\u009F\u00A0\u1680\u2000-\u200F\u2028\u2029\u202F\u205F\u2581\u3000\uFEFF\uFFFD\uFF5E]/.test(text)) return null;
  if (/<pad>|<\/s>|<unk>/.test(text) || tokens.slice(0, -1).includes("<unk>")) return null;
  const enc = new TextEncoder();
  const spans = [];
  for (const m of text.matchAll(/\S+/g)) {
    let pos = enc.encode(text.slice(0, m.index)).length;
    const chars = [...m[0]].map((c) => { const n = enc.encode(c).length; const s = [pos, pos + n]; pos += n; return s; });
    spans.push(chars[0], ...chars);
  }
  const offsets = [];
  let k = 0;
  for (const t of tokens.slice(0, -1)) {
    const n = [...t].length;
    offsets.push([spans[k][0], spans[k + n - 1][1]]);
    k += n;
  }
  if (k !== spans.length) throw new Error(`unigram tokens spell ${k} of ${spans.length} characters`);
  return [...offsets, [0, 0]];
}

// Byte offsets of the tokens of a text that they spell exactly (byte-level tokens, byte-fallback
// tokens, added tokens), widened to whole characters; `to_bytes(token)` gives its bytes' count
// in the (normalized) text and `map` turns a normalized byte range into an original one.
function char_bounds(bytes) {
  const start_of = new Int32Array(bytes.length + 1), end_of = new Int32Array(bytes.length + 1);
  let s = 0;
  for (let i = 0; i < bytes.length; ++i) { if ((bytes[i] & 0xc0) !== 0x80) s = i; start_of[i] = s; }
  let e = bytes.length;
  for (let i = bytes.length - 1; i >= 0; --i) { end_of[i] = e; if ((bytes[i] & 0xc0) !== 0x80) e = i; }
  return { start_of, end_of };
}

const UNICODE_TO_BYTES = (() => {
  const bs = [];
  for (let b = 33; b <= 126; ++b) bs.push(b);
  for (let b = 161; b <= 172; ++b) bs.push(b);
  for (let b = 174; b <= 255; ++b) bs.push(b);
  const map = new Map();
  let n = 0;
  for (let b = 0; b < 256; ++b) map.set(String.fromCodePoint(bs.includes(b) ? b : 256 + n++), b);
  return map;
})();

function gpt2_offsets(text, tokens, added) {
  const bytes = new TextEncoder().encode(text);
  const { start_of, end_of } = char_bounds(bytes);
  let pos = 0;
  const offsets = [];
  for (const t of tokens) {
    const n = added.has(t) ? new TextEncoder().encode(t).length : [...t].length;
    for (const c of added.has(t) ? [] : [...t]) if (!UNICODE_TO_BYTES.has(c)) throw new Error(`not a byte char in ${t}`);
    offsets.push([start_of[pos], end_of[pos + n - 1]]);
    pos += n;
  }
  if (pos !== bytes.length) throw new Error(`gpt2 tokens spell ${pos} of ${bytes.length} bytes`);
  return offsets;
}

// Llama-style: the normalizer prepends '▁' and turns ' ' into '▁'; the template adds <s> first.
function llama_offsets(text, tokens, first_special) {
  const chars = [...text];
  const enc = new TextEncoder();
  // normalized bytes → original char spans
  const spans = [];
  let orig = 0;
  const orig_spans = chars.map((c) => { const n = enc.encode(c).length; const s = [orig, orig + n]; orig += n; return s; });
  if (chars.length > 0) for (const _ of enc.encode("\u2581")) spans.push(orig_spans[0]);
  chars.forEach((c, i) => { for (const _ of enc.encode(c === " " ? "\u2581" : c)) spans.push(orig_spans[i]); });
  const offsets = [];
  let pos = 0;
  tokens.forEach((t, k) => {
    if (k < first_special) { offsets.push([0, 0]); return; }
    const n = /^<0x[0-9A-F]{2}>$/.test(t) ? 1 : enc.encode(t).length;
    offsets.push([spans[pos][0], spans[pos + n - 1][1]]);
    pos += n;
  });
  if (pos !== spans.length) throw new Error(`llama tokens spell ${pos} of ${spans.length} bytes`);
  return offsets;
}

function fnv1a(ids) {
  let h = 0xcbf29ce484222325n;
  for (const id of ids) {
    h ^= BigInt(id);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, "0");
}

// ---- main ---------------------------------------------------------------------------------------
if (mode === "corpus") {
  const texts = [...license_paragraphs(), ...package_descriptions(500), ...adversarial, ...split_adversarial];
  write_gz("corpus.json.gz", texts);
  console.log(`corpus.json.gz: ${texts.length} texts, ${texts.reduce((n, t) => n + t.length, 0)} UTF-16 units`);
  process.exit(0);
}

const { Tokenizer } = require("@huggingface/tokenizers");
const gpt3 = require("gpt-3-encoder");
const corpus = JSON.parse(read_gz("corpus.json.gz"));
// A corpus written before split_adversarial existed gets those texts appended.
const missing = split_adversarial.filter((t) => !corpus.includes(t));
if (missing.length > 0) {
  corpus.push(...missing);
  write_gz("corpus.json.gz", corpus);
}
const long_texts = [["a", 1 << 20], ["Hello world! ", 1 << 14], ["中文", 1 << 12], ["é", 1 << 12]];
const config = { clean_up_tokenization_spaces: false };
const tokenizers = { gpt2: new Tokenizer(gpt2_json(), config) };
for (const name of ["bert", "llama"]) {
  const file = join(out_dir, `${name}.json`);
  if (existsSync(file)) tokenizers[name] = new Tokenizer(JSON.parse(readFileSync(file, "utf8")), config);
  else console.warn(`${file} missing: no ${name} goldens`);
}
{
  const unigram = unigram_json(corpus);
  writeFileSync(join(out_dir, "unigram.json"), JSON.stringify(unigram) + "\n");
  tokenizers.unigram = new Tokenizer(unigram, config);
}
for (const name of Object.keys(SPLIT_TEMPLATES)) {
  const template = split_template(name);
  writeFileSync(join(out_dir, `${name}_split.json`), JSON.stringify(template, null, 2) + "\n");
  tokenizers[name] = new Tokenizer(split_json(template), config);
}
const gpt2_added = new Set(["<|endoftext|>"]);
const golden = { cases: [], long: [] };
for (const text of corpus) {
  const entry = {};
  for (const [name, tok] of Object.entries(tokenizers)) {
    const add_special_tokens = name !== "gpt2";  // the Split tokenizers: Llama-3's BOS
    const enc = tok.encode(text, { add_special_tokens, return_token_type_ids: true });
    const ids = enc.ids.map(Number);
    const e = { ids, decoded: ids.length ? tok.decode(ids, { skip_special_tokens: name !== "gpt2" }) : "" };
    if (name === "gpt2") {
      const reference = gpt3.encode(text);
      if (!text.includes("<|endoftext|>") && JSON.stringify(reference) !== JSON.stringify(ids))
        throw new Error(`gpt-3-encoder and @huggingface/tokenizers disagree on ${JSON.stringify(text.slice(0, 80))}`);
      e.offsets = gpt2_offsets(text, enc.tokens, gpt2_added);
    }
    if (name === "llama" && !/<s>|<\/s>|<unk>/.test(text) && !enc.tokens.includes("<unk>")) e.offsets = llama_offsets(text, enc.tokens, 1);
    if (name === "unigram") {
      const offsets = unigram_offsets(text, enc.tokens);
      if (offsets) e.offsets = offsets;
    }
    // Qwen2's NFC: offsets where it leaves the text as it is and no combining mark makes a segment.
    if (name in SPLIT_TEMPLATES && text.normalize("NFC") === text && !/\p{M}/u.test(text) && !text.includes("<|")) {
      const first = SPLIT_TEMPLATES[name].bos ? 1 : 0;
      e.offsets = [...Array(first).fill([0, 0]), ...gpt2_offsets(text, enc.tokens.slice(first), gpt2_added)];
    }
    entry[name] = e;
  }
  golden.cases.push(entry);
}
for (const [unit, count] of long_texts) {
  const entry = { unit, count };
  const text = unit.repeat(count);
  for (const [name, tok] of Object.entries(tokenizers)) {
    let ids;
    try {
      ids = tok.encode(text, { add_special_tokens: name !== "gpt2" }).ids.map(Number);
    } catch (e) {
      // The reference's Unigram spreads a word's tokens into call arguments: a word of 1 MiB
      // overflows its stack. No golden for that pair.
      if (!(e instanceof RangeError)) throw e;
      console.warn(`${name}: the reference fails on ${JSON.stringify(unit)} × ${count} (${e.message}); no golden`);
      continue;
    }
    entry[name] = { count: ids.length, fnv1a: fnv1a(ids) };
  }
  golden.long.push(entry);
}
write_gz("golden.json.gz", golden);
console.log(`golden.json.gz: ${golden.cases.length} texts, ${golden.long.length} long texts, tokenizers ${Object.keys(tokenizers)}`);
