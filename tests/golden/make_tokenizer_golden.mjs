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
  const texts = [...license_paragraphs(), ...package_descriptions(500), ...adversarial];
  write_gz("corpus.json.gz", texts);
  console.log(`corpus.json.gz: ${texts.length} texts, ${texts.reduce((n, t) => n + t.length, 0)} UTF-16 units`);
  process.exit(0);
}

const { Tokenizer } = require("@huggingface/tokenizers");
const gpt3 = require("gpt-3-encoder");
const corpus = JSON.parse(read_gz("corpus.json.gz"));
const long_texts = [["a", 1 << 20], ["Hello world! ", 1 << 14], ["中文", 1 << 12], ["é", 1 << 12]];
const config = { clean_up_tokenization_spaces: false };
const tokenizers = { gpt2: new Tokenizer(gpt2_json(), config) };
for (const name of ["bert", "llama"]) {
  const file = join(out_dir, `${name}.json`);
  if (existsSync(file)) tokenizers[name] = new Tokenizer(JSON.parse(readFileSync(file, "utf8")), config);
  else console.warn(`${file} missing: no ${name} goldens`);
}
const gpt2_added = new Set(["<|endoftext|>"]);
const golden = { cases: [], long: [] };
for (const text of corpus) {
  const entry = {};
  for (const [name, tok] of Object.entries(tokenizers)) {
    const add_special_tokens = name !== "gpt2";
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
    entry[name] = e;
  }
  golden.cases.push(entry);
}
for (const [unit, count] of long_texts) {
  const entry = { unit, count };
  const text = unit.repeat(count);
  for (const [name, tok] of Object.entries(tokenizers)) {
    const ids = tok.encode(text, { add_special_tokens: name !== "gpt2" }).ids.map(Number);
    entry[name] = { count: ids.length, fnv1a: fnv1a(ids) };
  }
  golden.long.push(entry);
}
write_gz("golden.json.gz", golden);
console.log(`golden.json.gz: ${golden.cases.length} texts, ${golden.long.length} long texts, tokenizers ${Object.keys(tokenizers)}`);
