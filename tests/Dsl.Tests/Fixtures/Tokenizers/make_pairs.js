// Writes pairs.expected.json: the ids of pairs of texts (a cross-encoder's query and passage) as the Hugging Face tokenizers
// library joins them by each file's post-processor, without truncation and truncated "longest_first" to a few max_length
// values, as transformers' tokenizer(texts, pairs, truncation=True, max_length=…) gives them, with their token type ids, and
// (for BERT's and XLM-RoBERTa's files) truncated "only_second" and "only_first", or the library's error where that cannot fit. The library's Node binding
// (npm's tokenizers, the same Rust code as Tokenizers.DotNet, which has no pair encoding):
//
//     npm install tokenizers@0.23.2 && NODE_PATH=node_modules node make_pairs.js
const fs = require("fs");
const { Tokenizer } = require("tokenizers");

const cases = JSON.parse(fs.readFileSync("cases.json", "utf8"));
// (query, passage) pairs of the cases: short and long, either first, empty, special tokens in them
const pairs = [[4, 8], [2, 5], [10, 11], [5, 2], [0, 3], [3, 0], [19, 4], [28, 29], [6, 7], [12, 13], [16, 20], [26, 27]]
  .map(([a, b]) => [cases[a], cases[b]]);
const families = ["bert", "bertcased", "xlmr", "t5", "albert", "llama2", "gpt2", "mistral"];
const limits = [null, 24, 13, 7];

(async () => {
  const out = { library: "tokenizers (Rust) through its Node binding 0.23.2", limits, pairs, families: {} };
  for (const family of families) {
    const rows = [];
    for (const max of limits) {
      const t = Tokenizer.fromFile(`${family}.tokenizer.json`);
      if (max !== null) t.setTruncation(max, { strategy: "LongestFirst" });
      for (const [a, b] of pairs) {
        const e = await t.encode(a, b);
        rows.push({ max, ids: e.getIds(), types: e.getTypeIds() });
      }
    }
    out.families[family] = rows;
  }
  // the other strategies (a question kept whole and its context cut: only_second), where the kept text leaves no room an error
  out.strategies = {};
  for (const strategy of ["OnlySecond", "OnlyFirst"]) {
    out.strategies[strategy] = {};
    for (const family of ["bert", "xlmr"]) {
      const rows = [];
      for (const max of limits.filter(m => m !== null)) {
        const t = Tokenizer.fromFile(`${family}.tokenizer.json`);
        t.setTruncation(max, { strategy });
        for (const [a, b] of pairs) {
          try {
            const e = await t.encode(a, b);
            rows.push({ max, ids: e.getIds() });
          } catch (error) {
            rows.push({ max, error: String(error) });
          }
        }
      }
      out.strategies[strategy][family] = rows;
    }
  }
  fs.writeFileSync("pairs.expected.json", JSON.stringify(out) + "\n");
  console.log(`${pairs.length} pairs x ${limits.length} limits x ${families.length} files -> pairs.expected.json`);
})();
