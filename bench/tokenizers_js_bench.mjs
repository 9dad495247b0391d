// The JS reference's encode throughput (npm @huggingface/tokenizers, one thread) on the texts
// bench_tokenizers uses: the golden corpus repeated to about 1 MB, encoded text by text.
//   node bench/tokenizers_js_bench.mjs NODE_MODULES_DIR      (see tests/golden/make_tokenizer_golden.mjs)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node tokenizers_js_bench.mjs NODE_MODULES_DIR");
  process.exit(2);
}
const require = createRequire(join(modules, "noop.js"));
const { Tokenizer } = require("@huggingface/tokenizers");
const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "tests", "golden", "tokenizers");
const read_gz = (name) => gunzipSync(readFileSync(join(dir, name))).toString("utf8");

const corpus = JSON.parse(read_gz("corpus.json.gz"));
const texts = [];
let bytes = 0;
while (bytes < 1 << 20) for (const t of corpus) { texts.push(t); bytes += Buffer.byteLength(t, "utf8"); }

const byte_level = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
const gpt2 = {
  added_tokens: [{ id: 50256, content: "<|endoftext|>", special: true, normalized: false }],
  normalizer: null, pre_tokenizer: byte_level, post_processor: byte_level, decoder: byte_level,
  model: { type: "BPE", vocab: JSON.parse(read_gz("gpt2_encoder.json.gz")),
           merges: read_gz("gpt2_vocab.bpe.gz").split("\n").slice(1).filter((l) => l.length > 0) },
};
const tokenizers = {
  gpt2: new Tokenizer(gpt2, {}),
  wordpiece: new Tokenizer(JSON.parse(readFileSync(join(dir, "bert.json"), "utf8")), {}),
  byte_fallback: new Tokenizer(JSON.parse(readFileSync(join(dir, "llama.json"), "utf8")), {}),
  unigram: new Tokenizer(JSON.parse(readFileSync(join(dir, "unigram.json"), "utf8")), {}),
};
for (const [name, tok] of Object.entries(tokenizers)) {
  for (const t of texts) tok.encode(t);  // warm-up (and the BPE cache, as in steady use)
  const runs = [], cpu = [];
  for (let r = 0; r < 5; ++r) {
    const start = process.hrtime.bigint(), start_cpu = process.cpuUsage();
    for (const t of texts) tok.encode(t);
    runs.push(Number(process.hrtime.bigint() - start) / 1e9);
    const used = process.cpuUsage(start_cpu);
    cpu.push((used.user + used.system) / 1e6);
  }
  runs.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  // Wall-clock MB/s, and MB per CPU-second of the process (its garbage collector's threads
  // included), which a machine shared with other work changes less.
  console.log(`js_encode_one_thread/${name}  ${(bytes / runs[2] / 1e6).toFixed(2)} MB/s  ` +
              `${(bytes / cpu[2] / 1e6).toFixed(2)} MB/cpu-s  (median of 5, ${bytes} bytes)`);
}
