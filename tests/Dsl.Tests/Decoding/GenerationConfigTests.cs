using System.Numerics.Tensors;
using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Decoding;

/// <summary>
/// Several end tokens (Hugging Face's <c>eos_token_id</c> as a list: LLaMA 3's three) end every decoder at the first one chosen,
/// and beam search keeps enough candidates to refill its beam when several of them lead; <c>generation_config.json</c> is read
/// as transformers reads it (its defaults, config.json's token ids where it is missing, what is not built refused), and
/// <see cref="Decode.Generate(IModel{int}, ReadOnlySpan{int}, GenerationConfig, Rng?)"/>, <see cref="Decode.GenerateBatch"/>
/// and an encoder–decoder's <c>Generate</c> decode as the settings say: what the decoder they name, given those settings, gives.
/// </summary>
public class GenerationConfigTests
{
    /// <summary>
    /// A model written by hand whose logits depend on the last token only: <c>Logits[t]</c> after token t (probabilities,
    /// taken as logs). Each row of a batch steps from a state of its own.
    /// </summary>
    private sealed class TableModel(float[][] probabilities) : StepOnlyModel
    {
        /// <summary>How many steps it has taken.</summary>
        public int Steps { get; private set; }

        /// <summary>From this step on (counting every step taken) the logits are NaN: a model that diverges part-way.</summary>
        public int NaNFromStep { get; init; } = int.MaxValue;

        /// <summary>Added to every logit (the probabilities stay; logits above 0 then, as a model's are).</summary>
        public float Offset { get; init; }

        private sealed class State(int batch) : IModelState
        {
            public int Batch => batch;
            public void Reset() { }
            public IReadOnlyList<NamedTensor> Tensors => [];
        }

        public override ParameterSet Parameters { get; } = new([]);
        public override int InputWidth => probabilities.Length;
        public override int OutputWidth => probabilities[0].Length;
        public override bool ReturnsSequences => true;
        public override Rng DropoutRandom { get; } = new(0);
        public override IModelState CreateState(int batch = 1) => new State(batch);

        public override void Step(ReadOnlyTensorSpan<int> input, IModelState state, TensorSpan<float> destination)
        {
            Steps++;
            float[] logits = probabilities[input[0]].Select(p => Steps >= NaNFromStep ? float.NaN : p > 0 ? MathF.Log(p) + Offset : float.NegativeInfinity).ToArray();
            new ReadOnlyTensorSpan<float>(logits, [1, logits.Length]).CopyTo(destination);
        }
    }

    /// <summary>0 → 1 → 2 → 3 → 4 → 5 → 0 …: each token's most likely successor the next id (0.5, the others 0.1 each).</summary>
    private static TableModel Chain(int naNFromStep = int.MaxValue) => new([.. Enumerable.Range(0, 6).Select(t => Enumerable.Range(0, 6).Select(u => u == (t + 1) % 6 ? 0.5f : 0.1f).ToArray())]) { NaNFromStep = naNFromStep };

    [Fact]
    public void EndTokensAreOneIdNoneOrSeveral()
    {
        EndTokens one = 3, several = [5, 3, 5], none = default;
        int? nothing = null, two = 2;
        Assert.True(one.Contains(3) && !one.Contains(4) && one.Count == 1);
        Assert.Equal([5, 3], several.Tokens.ToArray()); // each once, in the order given
        Assert.True(several.Contains(3) && several.Contains(5) && !several.Contains(4));
        Assert.True(none.IsEmpty && !none.Contains(0) && none == EndTokens.None);
        Assert.True(((EndTokens)nothing).IsEmpty);
        Assert.Equal((EndTokens)2, (EndTokens)two);
        Assert.Equal(EndTokens.Create([5, 3]), several);
        Assert.NotEqual(EndTokens.Create([3, 5]), several);
        Assert.True(EndTokens.Create([]).IsEmpty);
        Assert.Equal(["none", "3", "[5, 3]"], new[] { none, one, several }.Select(e => e.ToString()));
        int sum = 0;
        foreach (int t in several) sum += t;
        Assert.Equal(8, sum);
    }

    [Fact]
    public void EveryDecoderEndsAtTheFirstOfSeveralEndTokens()
    {
        TableModel model = Chain();
        Assert.Equal([1, 2, 3, 4, 5, 0, 1, 2], Decode.Greedy(model, [0], 8));
        Assert.Equal([1, 2], Decode.Greedy(model, [0], 8, endToken: [4, 2]));
        Assert.Equal([4], Decode.Greedy(model, [3], 8, endToken: [4, 2]));
        Assert.Equal([1, 2], Decode.Generate(model, [0], 8, context: 4, endToken: [4, 2]));
        Assert.Equal([1, 2], Decode.Beam(model, [0], 2, 8, endToken: [4, 2], lengthPenalty: 0f)[0].Tokens);
        // the batch's rows end at whichever end token each reaches first
        var prompts = new ReadOnlyTensorSpan<int>([0, 3, 5], [3, 1]);
        Assert.Equal([[1, 2], [4], [0, 1, 2]], Decode.GreedyBatch(model, prompts, default, 8, endToken: [2, 4]));
        Assert.Equal([[1, 2], [4], [0, 1, 2]], Decode.BeamBatch(model, prompts, default, 2, 8, endToken: [2, 4], lengthPenalty: 0f).Select(b => b[0].Tokens));
        // sampling: a draw that lands on either end token ends the sequence (the only tokens it can end with)
        var rng = new Rng(5);
        for (int i = 0; i < 50; i++)
        {
            int[] drawn = Decode.Sample(model, [0], 20, temperature: 1f, topK: 0, rng, endToken: [2, 4]);
            Assert.True(drawn.Length == 20 || drawn[^1] is 2 or 4, $"[{string.Join(", ", drawn)}]");
            Assert.DoesNotContain(drawn[..^1], t => t is 2 or 4);
        }
    }

    [Fact]
    public void BeamSearchRefillsItsBeamWhenSeveralEndTokensLead()
    {
        // from 0: the end tokens 3 and 4 lead (0.3 each), then 1 (0.25); after 1 the end 3 is all but certain. Per token
        // (length penalty 1), [1, 3] scores (ln 0.25 + ln 0.99) / 2 = −0.70, above [3]'s ln 0.3 = −1.20: a beam of one finds it
        // only if it looks past both end tokens, as transformers does ((1 + 2 end tokens) · width candidates, not 2 · width)
        var model = new TableModel(
        [
            [0f, 0.25f, 0.15f, 0.3f, 0.3f],
            [0f, 0f, 0.01f, 0.99f, 0f],
            [0.2f, 0.2f, 0.2f, 0.2f, 0.2f],
            [0.2f, 0.2f, 0.2f, 0.2f, 0.2f],
            [0.2f, 0.2f, 0.2f, 0.2f, 0.2f],
        ]);
        IReadOnlyList<Hypothesis> found = Decode.Beam(model, [0], beamWidth: 1, maxLength: 5, endToken: [3, 4]);
        Assert.Equal([1, 3], found[0].Tokens);
        Assert.Equal((MathF.Log(0.25f) + MathF.Log(0.99f)) / 2, found[0].Score, 5);
    }

    [Fact]
    public void EachEndTokenMustBeOneTheModelCanChoose()
    {
        TableModel model = Chain();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Greedy(model, [0], 5, endToken: [2, 6]));
        Assert.Equal("endToken", e.ParamName);
        Assert.Contains("an end token of [2, 6]", e.Message);
        Assert.Contains("[0, 6)", e.Message);
        Assert.Equal("endToken", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.BeamBatch(model, new ReadOnlyTensorSpan<int>([0], [1, 1]), default, 2, 5, endToken: [-1])).ParamName);
    }

    /// <summary>A model's folder holding <paramref name="files"/> (name, JSON text).</summary>
    private static string Folder(params (string Name, string Json)[] files)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"dsl-generation-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        foreach (var (name, json) in files) File.WriteAllText(Path.Combine(folder, name), json);
        return folder;
    }

    [Fact]
    public void GenerationConfigIsReadAsTransformersReadsIt()
    {
        // Llama-3.1-8B-Instruct's generation_config.json
        string llama = Folder(("generation_config.json", """{"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009], "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.42.3"}"""),
            ("config.json", """{"eos_token_id": 7, "max_length": 99}"""));
        GenerationConfig read = HuggingFace.LoadGenerationConfig(llama);
        Assert.Equal(new GenerationConfig { BeginToken = 128000, DoSample = true, EndTokens = [128001, 128008, 128009], Temperature = 0.6f, TopP = 0.9f }, read);
        Assert.Equal((50, 20, 1, 1f, 1f, 0f), (read.TopK, read.MaxLength, read.NumBeams, read.RepetitionPenalty, read.LengthPenalty, read.MinP)); // transformers' defaults
        Assert.Null(read.MaxNewTokens);
        Assert.Equal(read, HuggingFace.LoadGenerationConfig(Path.Combine(llama, "generation_config.json")));
        // Qwen2.5-7B-Instruct's
        string qwen = Folder(("generation_config.json", """{"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "repetition_penalty": 1.05, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}"""));
        Assert.Equal(new GenerationConfig { BeginToken = 151643, PadToken = 151643, DoSample = true, EndTokens = [151645, 151643], RepetitionPenalty = 1.05f, Temperature = 0.7f, TopP = 0.8f, TopK = 20 },
            HuggingFace.LoadGenerationConfig(qwen));
        // Gemma's (cache_implementation does not change the tokens); settings at their defaults, and nulls, are accepted
        string gemma = Folder(("generation_config.json", """{"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "cache_implementation": "hybrid", "no_repeat_ngram_size": 0, "min_length": 0, "num_return_sequences": 1, "bad_words_ids": null, "suppress_tokens": [], "early_stopping": false, "min_p": null, "max_new_tokens": 64, "num_beams": 4, "length_penalty": 0.5}"""));
        Assert.Equal(new GenerationConfig { BeginToken = 2, EndTokens = 1, PadToken = 0, MaxNewTokens = 64, NumBeams = 4, LengthPenalty = 0.5f }, HuggingFace.LoadGenerationConfig(gemma));
        // t5-small has only a config.json: its token ids, as transformers' from_model_config reads them
        string t5 = Folder(("config.json", """{"d_model": 512, "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0, "model_type": "t5", "task_specific_params": {"summarization": {"num_beams": 4}}}"""));
        Assert.Equal(new GenerationConfig { DecoderStartToken = 0, EndTokens = 1, PadToken = 0 }, HuggingFace.LoadGenerationConfig(t5));
        Assert.Equal(new GenerationConfig { EndTokens = [] }, HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", """{"eos_token_id": [], "early_stopping": "never"}"""))));
        // bart-large-cnn's summarisation settings
        string bart = Folder(("generation_config.json", """{"bos_token_id": 0, "decoder_start_token_id": 2, "early_stopping": true, "eos_token_id": 2, "forced_eos_token_id": null, "length_penalty": 2.0, "max_length": 142, "min_length": 56, "no_repeat_ngram_size": 3, "num_beams": 4, "pad_token_id": 1}"""));
        Assert.Equal(new GenerationConfig { BeginToken = 0, DecoderStartToken = 2, EarlyStopping = true, EndTokens = 2, LengthPenalty = 2f, MaxLength = 142, MinLength = 56, NoRepeatNgramSize = 3, NumBeams = 4, PadToken = 1 },
            HuggingFace.LoadGenerationConfig(bart));
        Assert.Equal(new GenerationConfig { NumReturnSequences = 2, DoSample = true }, HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", """{"num_return_sequences": 2, "do_sample": true}"""))));
        Assert.Equal(new GenerationConfig { MinNewTokens = 3 }, HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", """{"min_new_tokens": 3, "early_stopping": false, "renormalize_logits": false}"""))));
        // top_k null is no top-k (transformers' None); another null is its default
        Assert.Equal(new GenerationConfig { TopK = 0 }, HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", """{"top_k": null, "temperature": null, "max_length": null}"""))));
    }

    [Fact]
    public void GenerationConfigIsWrittenAsTransformersWritesItAndReadBack()
    {
        var llama = new GenerationConfig { BeginToken = 128000, DoSample = true, EndTokens = [128001, 128008, 128009], Temperature = 0.6f, TopP = 0.9f };
        string folder = Folder();
        HuggingFace.SaveGenerationConfig(llama, folder);
        // the keys sorted, as transformers' save_pretrained writes them; defaults left out
        Assert.Equal("""{"bos_token_id":128000,"do_sample":true,"eos_token_id":[128001,128008,128009],"temperature":0.6,"top_p":0.9}""",
            System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "generation_config.json")))!.ToJsonString());
        Assert.Equal(llama, HuggingFace.LoadGenerationConfig(folder));
        var every = new GenerationConfig
        {
            BeginToken = 0, PadToken = 1, DecoderStartToken = 2, EndTokens = 2, DoSample = false, Temperature = 0.7f, TopK = 20, TopP = 0.8f, MinP = 0.05f,
            RepetitionPenalty = 1.1f, NoRepeatNgramSize = 3, NumBeams = 4, NumReturnSequences = 2, LengthPenalty = 2f, EarlyStopping = true, MaxLength = 142, MaxNewTokens = 64, MinLength = 56, MinNewTokens = 5,
        };
        HuggingFace.SaveGenerationConfig(every, folder);
        Assert.Equal(every, HuggingFace.LoadGenerationConfig(folder));
        HuggingFace.SaveGenerationConfig(new GenerationConfig(), folder);
        Assert.Equal("{}", File.ReadAllText(Path.Combine(folder, "generation_config.json")).Replace("\n", "").Replace(" ", ""));
        Assert.Equal(new GenerationConfig(), HuggingFace.LoadGenerationConfig(folder));
    }

    [Fact]
    public void WhatIsNotBuiltOrCannotBeReadIsRefusedByName()
    {
        string other = Folder(("generation_config.json", """{"eos_token_id": 2, "suppress_tokens": [5], "typical_p": 0.9, "early_stopping": "sometimes", "renormalize_logits": true, "forced_bos_token_id": 0, "top_k": 2.5, "do_sample": "yes", "temperature": "hot"}"""));
        var e = Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGenerationConfig(other));
        foreach (string part in new[] { "generation_config.json", "suppress_tokens is [5]", "typical_p is 0.9", "early_stopping is \"sometimes\"", "renormalize_logits is true", "forced_bos_token_id is 0",
                     "top_k is 2.5, not a whole number", "do_sample is \"yes\", not true or false", "temperature is \"hot\", not a number" })
            Assert.Contains(part, e.Message);
        Assert.Contains("eos_token_id is [1, \"2\"]", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", """{"eos_token_id": [1, "2"]}""")))).Message);
        Assert.Contains("eos_token_id is -1", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", """{"eos_token_id": -1}""")))).Message);
        Assert.Contains("not a JSON object", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", "[1]")))).Message);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => HuggingFace.LoadGenerationConfig(Folder(("generation_config.json", "{")))).Message);
        Assert.Contains("neither generation_config.json nor config.json", Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadGenerationConfig(Folder())).Message);
        Assert.Throws<FileNotFoundException>(() => HuggingFace.LoadGenerationConfig(Path.Combine(Folder(), "missing.json")));
    }

    private static readonly int[] Prompt = [1, 4, 2];

    [Fact]
    public void GenerateDecodesAsTheSettingsSay()
    {
        var model = new TinyGpt(seed: 3);
        EndTokens ends = [Decode.Greedy(model, Prompt, 12)[3], 10];
        var greedy = new GenerationConfig { EndTokens = ends, MaxLength = 12 };
        // max_length counts the prompt; max_new_tokens, when set, counts the tokens after it
        Assert.Equal(Decode.Greedy(model, Prompt, 9, ends), Decode.Generate(model, Prompt, greedy));
        Assert.Equal(9, Decode.Generate(model, Prompt, greedy with { EndTokens = default }).Length);
        Assert.Equal(Decode.Greedy(model, Prompt, 4), Decode.Generate(model, Prompt, greedy with { EndTokens = default, MaxNewTokens = 4 }));
        // greedy with a repetition penalty; sampling with transformers' top-k of 50 unless set
        Assert.Equal(Decode.Sample(model, Prompt, 9, 0f, 0, null, ends, repetitionPenalty: 1.3f), Decode.Generate(model, Prompt, greedy with { RepetitionPenalty = 1.3f, Temperature = 0.5f, TopK = 2 }));
        var sampling = greedy with { DoSample = true, Temperature = 0.8f, TopP = 0.9f, MinP = 0.05f, RepetitionPenalty = 1.1f };
        Assert.Equal(Decode.Sample(model, Prompt, 9, 0.8f, 50, new Rng(4), ends, 0.9f, 0.05f, 1.1f), Decode.Generate(model, Prompt, sampling, new Rng(4)));
        Assert.Equal(Decode.Sample(model, Prompt, 9, 0.8f, 3, new Rng(4), ends, 0.9f, 0.05f, 1.1f), Decode.Generate(model, Prompt, sampling with { TopK = 3 }, new Rng(4)));
        // beam search: its best sequence
        var beams = greedy with { NumBeams = 3, LengthPenalty = 0.5f };
        Assert.Equal(Decode.Beam(model, Prompt, 3, 9, ends, 0.5f)[0].Tokens, Decode.Generate(model, Prompt, beams));
        // a batch: max_length counts the longest prompt for every row
        var prompts = new ReadOnlyTensorSpan<int>([1, 4, 2, 3, 5, 0, 0, 0], [2, 4]);
        int[] lengths = [3, 1];
        Assert.Equal(Decode.GreedyBatch(model, prompts, lengths, 9, ends), Decode.GenerateBatch(model, prompts, lengths, greedy));
        Assert.Equal(Decode.GreedyBatch(model, prompts, default, 8, ends), Decode.GenerateBatch(model, prompts, default, greedy));
        Assert.Equal(Decode.SampleBatch(model, prompts, lengths, 9, 0.8f, 50, new Rng(6), ends, 0.9f, 0.05f, 1.1f), Decode.GenerateBatch(model, prompts, lengths, sampling, new Rng(6)));
        Assert.Equal(Decode.BeamBatch(model, prompts, lengths, 3, 9, ends, 0.5f).Select(b => b[0].Tokens), Decode.GenerateBatch(model, prompts, lengths, beams));
    }

    [Fact]
    public void AnEncoderDecoderGeneratesFromItsDecoderStartToken()
    {
        var model = new TransformerSeq2Seq(seed: 2);
        var source = new ReadOnlyTensorSpan<int>([5, 9, 3, 7, 2, 8], [1, 6]);
        int[] free = model.Greedy(source, startToken: 1, maxLength: 10);
        EndTokens ends = [free[2], 8];
        var greedy = new GenerationConfig { DecoderStartToken = 1, EndTokens = ends, MaxLength = 11 };
        // max_length counts the start token
        Assert.Equal(model.Greedy(source, 1, 10, ends), model.Generate(source, greedy));
        Assert.Equal(model.Greedy(source, 1, 6), model.Generate(source, greedy with { EndTokens = default, MaxLength = 7 }));
        Assert.Equal(6, model.Generate(source, greedy with { EndTokens = default, MaxLength = 7 }).Length);
        // no decoder start token: the begin token, as transformers falls back to it
        Assert.Equal(model.Greedy(source, 1, 10, ends), model.Generate(source, greedy with { DecoderStartToken = null, BeginToken = 1 }));
        Assert.Equal(model.Beam(source, 1, 2, 10, ends, 0.5f)[0].Tokens, model.Generate(source, greedy with { NumBeams = 2, LengthPenalty = 0.5f }));
        var sampling = greedy with { DoSample = true, Temperature = 1.5f, MaxNewTokens = 6 };
        Assert.Equal(Decode.Sample(model.Decoder, model.Encode(source), [1], 6, 1.5f, 50, new Rng(8), ends), model.Generate(source, sampling, new Rng(8)));
        // streamed
        Assert.Equal(model.Generate(source, greedy), model.Stream(source, greedy));
        Assert.Equal(model.Generate(source, sampling, new Rng(8)), model.Stream(source, sampling, new Rng(8)));
        Assert.Throws<NotSupportedException>(() => model.Stream(new ReadOnlyTensorSpan<int>([5, 9, 3, 7, 2, 8], [1, 6]), greedy with { NumBeams = 2 }));
        // a batch of sources
        var sources = new ReadOnlyTensorSpan<int>([5, 9, 3, 7, 2, 8, 4, 4, 1, 0, 0, 0], [2, 6]);
        int[] lengths = [6, 3];
        Assert.Equal(model.Greedy(sources, lengths, 1, 10, ends), model.Generate(sources, lengths, greedy));
        Assert.Equal(model.Beam(sources, lengths, 1, 2, 10, ends, 1f).Select(b => b[0].Tokens), model.Generate(sources, lengths, greedy with { NumBeams = 2 }));
        int[][] drawn = model.Generate(sources, lengths, sampling with { RepetitionPenalty = 1.2f }, new Rng(8));
        Assert.Equal(2, drawn.Length);
        Assert.All(drawn, d => Assert.InRange(d.Length, 1, 6));
        int[] one = [5, 9, 3, 7, 2, 8];
        Assert.Contains("DecoderStartToken", Assert.Throws<ArgumentException>(() => model.Generate(new ReadOnlyTensorSpan<int>(one, [1, 6]), greedy with { DecoderStartToken = null })).Message);
        Assert.Equal("config", Assert.Throws<ArgumentException>(() => model.Generate(new ReadOnlyTensorSpan<int>(one, [1, 6]), greedy with { EndTokens = [9] })).ParamName);
        Assert.Equal("config.DecoderStartToken", Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate(new ReadOnlyTensorSpan<int>(one, [1, 6]), greedy with { DecoderStartToken = 9 })).ParamName);
    }

    [Fact]
    public void SettingsThatCannotDecodeAreRefusedBeforeAnythingRuns()
    {
        var model = new TinyGpt(seed: 3);
        var config = new GenerationConfig { MaxLength = 3 };
        var rng = new Rng(1);
        Assert.Contains("MaxLength (max_length) is 3, which counts the prompt's 3 token(s)", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config)).Message);
        Assert.Contains("the longest prompt's 3", Assert.Throws<ArgumentException>(() => Decode.GenerateBatch(model, new ReadOnlyTensorSpan<int>([1, 4, 2, 3, 0, 0], [2, 3]), [3, 1], config)).Message);
        Assert.Equal([], Decode.Generate(model, Prompt, config with { MaxNewTokens = 0 }));
        Assert.Contains("MaxNewTokens (max_new_tokens) is -1", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { MaxNewTokens = -1 })).Message);
        Assert.Equal("rng", Assert.Throws<ArgumentNullException>(() => Decode.Generate(model, Prompt, config with { DoSample = true, MaxNewTokens = 2 })).ParamName);
        Assert.Contains("Temperature (temperature) is 0", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { DoSample = true, Temperature = 0f, MaxNewTokens = 2 }, rng)).Message);
        var topP = Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { DoSample = true, TopP = 1.5f, MaxNewTokens = 2 }, rng));
        Assert.Equal("config", topP.ParamName);
        Assert.Contains("topP", topP.Message);
        Assert.Contains("NumBeams (num_beams) is 0", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { NumBeams = 0 })).Message);
        Assert.Contains("beam sampling", Assert.Throws<NotSupportedException>(() => Decode.Generate(model, Prompt, config with { NumBeams = 2, DoSample = true }, rng)).Message);
        Assert.Contains("NoRepeatNgramSize (no_repeat_ngram_size) is -1", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { NoRepeatNgramSize = -1 })).Message);
        Assert.Contains("MinLength (min_length) is -1", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { MinLength = -1 })).Message);
        Assert.Contains("MinNewTokens (min_new_tokens) is -2", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { MinNewTokens = -2 })).Message);
        Assert.Contains("repetitionPenalty", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { NumBeams = 2, RepetitionPenalty = 0f })).Message);
        var end = Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, config with { EndTokens = [3, 11], MaxNewTokens = 2 }));
        Assert.Equal("config", end.ParamName);
        Assert.Contains("an end token of [3, 11]", end.Message);
        Assert.Equal("config", Assert.Throws<ArgumentException>(() => Decode.GenerateBatch(model, new ReadOnlyTensorSpan<int>([1, 4, 2], [1, 3]), default, config with { EndTokens = 11, MaxNewTokens = 2 })).ParamName);
        Assert.Equal("prompt", Assert.Throws<ArgumentException>(() => Decode.Generate(model, [], config)).ParamName);
        Assert.Equal(new Rng(1).Save(), rng.Save()); // nothing drawn by a refused call
    }

    [Fact]
    public void AStreamGivesTheGeneratedTokensOneAtATime()
    {
        var model = new TinyGpt(seed: 3);
        EndTokens ends = [Decode.Greedy(model, Prompt, 12)[4], 10];
        var greedy = new GenerationConfig { EndTokens = ends, MaxNewTokens = 9 };
        Assert.Equal(Decode.Generate(model, Prompt, greedy), Decode.Stream(model, Prompt, greedy));
        var sampling = greedy with { DoSample = true, Temperature = 0.9f, TopK = 5, RepetitionPenalty = 1.2f, EndTokens = default };
        Assert.Equal(Decode.Generate(model, Prompt, sampling, new Rng(2)), Decode.Stream(model, Prompt, sampling, new Rng(2)));
        // the prompt is read at the first MoveNext, each token fed at the next, and leaving the loop stops decoding
        TableModel chain = Chain();
        IEnumerable<int> stream = Decode.Stream(chain, [0], new GenerationConfig { MaxNewTokens = 50 });
        Assert.Equal(0, chain.Steps);
        Assert.Equal([1, 2, 3], stream.Take(3));
        Assert.Equal(3, chain.Steps); // the prompt, then 1 and 2 fed (3 never is)
        // checked at the call, not when enumerated
        Assert.Throws<NotSupportedException>(() => Decode.Stream(model, Prompt, greedy with { NumBeams = 2 }));
        Assert.Equal("rng", Assert.Throws<ArgumentNullException>(() => Decode.Stream(model, Prompt, sampling)).ParamName);
        Assert.Equal("prompt", Assert.Throws<ArgumentOutOfRangeException>(() => Decode.Stream(model, [11], greedy)).ParamName);
        // a step that turns NaN fails at its MoveNext, the generator left after the tokens already given
        var rng = new Rng(9);
        var given = new List<int>();
        var draws = new GenerationConfig { DoSample = true, TopK = 0, MaxNewTokens = 10 };
        Assert.Throws<ArgumentException>(() => { foreach (int t in Decode.Stream(Chain(naNFromStep: 4), [0], draws, rng)) given.Add(t); });
        Assert.Equal(3, given.Count);
        var same = new Rng(9);
        Assert.Equal(given, Decode.Generate(Chain(), [0], draws with { MaxNewTokens = 3 }, same));
        Assert.Equal(same.Save(), rng.Save());
        // a token the model cannot read back (an output past its inputs) is refused as it is chosen, never given
        var wider = new TableModel([[0f, 0f, 0f, 0.1f, 0.9f], [0.2f, 0.2f, 0.2f, 0.2f, 0.2f], [0.2f, 0.2f, 0.2f, 0.2f, 0.2f], [0.2f, 0.2f, 0.2f, 0.2f, 0.2f]]);
        var taken = new List<int>();
        Assert.Throws<InvalidOperationException>(() => { foreach (int t in Decode.Stream(wider, [0], new GenerationConfig { MaxNewTokens = 3 })) taken.Add(t); });
        Assert.Empty(taken);
        Assert.Equal([4], Decode.Stream(wider, [0], new GenerationConfig { MaxNewTokens = 3, EndTokens = 4 }));
        Assert.Equal([4], Decode.Stream(wider, [0], new GenerationConfig { MaxNewTokens = 1 })); // (the last token is not fed back)
    }

    [Fact]
    public void ATokenizerTurnsAStreamIntoText()
    {
        // a byte-level vocabulary: "é" is two tokens (its UTF-8 bytes), given as one piece once both have come
        string json = """
            {"model": {"type": "BPE", "vocab": {"h": 0, "i": 1, "Ã": 2, "©": 3, "Ġ": 4, "Ċ": 5}, "merges": []},
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}}
            """;
        Tokenizer tokenizer = Tokenizer.Parse(json);
        int[] ids = tokenizer.Encode("hi é");
        Assert.Equal([0, 1, 4, 2, 3], ids);
        // a word given once a space follows it, a line at once, the rest when the ids end
        Assert.Equal(["hi ", "é"], tokenizer.DecodeStream(ids));
        Assert.Equal(["hi\n", "é"], tokenizer.DecodeStream([0, 1, 5, 2, 3]));
        Assert.Equal(["h\uFFFD"], tokenizer.DecodeStream([0, 2])); // a character cut off: what is left, when the ids end
        Assert.Empty(tokenizer.DecodeStream([]));
    }

    /// <summary>From t: t + 1 (0.5), t + 2 (0.3), t + 3 (0.15), t itself (0.05), modulo 4: no two tokens alike.</summary>
    private static TableModel Cycle(float offset = 0f) => new([.. Enumerable.Range(0, 4).Select(t =>
    {
        var p = new float[4];
        (p[(t + 1) % 4], p[(t + 2) % 4], p[(t + 3) % 4], p[t]) = (0.5f, 0.3f, 0.15f, 0.05f);
        return p;
    })]) { Offset = offset };

    [Fact]
    public void NoRepeatedNgramsAndALeastLengthChangeWhatIsChosen()
    {
        TableModel model = Cycle();
        var greedy = new GenerationConfig { MaxNewTokens = 8 };
        Assert.Equal([1, 2, 3, 0, 1, 2, 3, 0], Decode.Generate(model, [0], greedy));
        // no bigram twice, the prompt's counted: after 0, (0, 1) is taken, then (0, 2), so 3; after 2, (2, 3) is taken, so 0; …
        Assert.Equal([1, 2, 3, 0, 2, 0, 3, 1], Decode.Generate(model, [0], greedy with { NoRepeatNgramSize = 2 }));
        // no unigram twice: every token once, then nothing left (−∞ everywhere: refused as a distribution of nothing)
        Assert.Equal([1, 2, 3], Decode.Generate(model, [0], greedy with { NoRepeatNgramSize = 1, MaxNewTokens = 3 }));
        // the end token 2 not before three new tokens: 1, then 3 (2 barred), 0, 1, and 2 ends it
        var ending = greedy with { EndTokens = 2 };
        Assert.Equal([1, 2], Decode.Generate(model, [0], ending));
        Assert.Equal([1, 3, 0, 1, 2], Decode.Generate(model, [0], ending with { MinNewTokens = 3 }));
        // at the boundary: 2 barred at the second token only where two tokens must come first
        Assert.Equal([1, 2], Decode.Generate(model, [0], ending with { MinNewTokens = 1 }));
        Assert.Equal([1, 3, 0, 1, 2], Decode.Generate(model, [0], ending with { MinNewTokens = 2 }));
        Assert.Equal([1, 2], Decode.Generate(model, [0], ending with { MinLength = 2 })); // the prompt counted
        Assert.Equal([1, 3, 0, 1, 2], Decode.Generate(model, [0], ending with { MinLength = 3 }));
        Assert.Equal([1, 3, 0, 1, 2], Decode.Generate(model, [0], ending with { MinLength = 2, MinNewTokens = 2 })); // the larger
        Assert.Equal([1, 3, 0, 1, 2], Decode.Stream(model, [0], ending with { MinNewTokens = 3 }));
        // a batch: min_length counts the longest prompt (two tokens) for both rows (row 0 alone would bar 2 at its second token)
        var prompts = new ReadOnlyTensorSpan<int>([0, 0, 3, 0], [2, 2]);
        Assert.Equal([[1, 2], [1, 2]], Decode.GenerateBatch(model, prompts, [1, 2], ending with { MinLength = 3 }));
        Assert.Equal([[1, 3, 0, 1, 2], [1, 3, 0, 1, 2]], Decode.GenerateBatch(model, prompts, [1, 2], ending with { MinLength = 4 }));
    }

    /// <summary>
    /// The best of all sequences of <paramref name="length"/> tokens after <paramref name="prompt"/> by the sum of their
    /// log-probabilities each penalised (a token the sequence holds: × penalty, these being negative) and barred (completing a
    /// bigram already held: −∞, where <paramref name="noRepeat"/> is 2), found by trying them all.
    /// </summary>
    private static int[] BestByTrial(TableModel model, int[] prompt, int length, float penalty, int noRepeat)
    {
        int vocabulary = model.OutputWidth;
        var p = Enumerable.Range(0, vocabulary).Select(t =>
        {
            var l = new float[vocabulary];
            model.Step(new ReadOnlyTensorSpan<int>([t], [1]), model.CreateState(), new TensorSpan<float>(l, [1, vocabulary]));
            double log = Math.Log(l.Sum(x => Math.Exp(x)));
            return l.Select(x => x - log).ToArray(); // log-probabilities
        }).ToArray();
        (int[] Tokens, double Score) best = ([], double.NegativeInfinity);
        for (int code = 0; code < (int)Math.Pow(vocabulary, length); code++)
        {
            int[] tokens = Enumerable.Range(0, length).Select(i => code / (int)Math.Pow(vocabulary, i) % vocabulary).ToArray();
            double score = 0;
            var sequence = new List<int>(prompt);
            foreach (int t in tokens)
            {
                double s = p[sequence[^1]][t];
                if (sequence.Contains(t)) s *= penalty;
                var held = Enumerable.Range(0, sequence.Count - 1).Select(i => (sequence[i], sequence[i + 1])).ToHashSet();
                if (noRepeat == 2 && held.Contains((sequence[^1], t))) s = double.NegativeInfinity;
                score += s;
                sequence.Add(t);
            }
            if (score > best.Score) best = (tokens, score);
        }
        return best.Tokens;
    }

    [Fact]
    public void BeamSearchAppliesTheRulesToItsScores()
    {
        TableModel model = Cycle(offset: 2f); // (logits above 0: a penalty on them would divide, on the log-probabilities it multiplies)
        // a beam of 256 = 4⁴ over a vocabulary of 4 keeps every sequence of four tokens, so none of five is pruned before the
        // last step: the best of them all, as trying them finds it
        var wide = new GenerationConfig { NumBeams = 256, MaxNewTokens = 5, LengthPenalty = 0f };
        Assert.Equal(BestByTrial(model, [0], 5, 1f, 0), Decode.Generate(model, [0], wide));
        foreach (var (penalty, noRepeat) in new[] { (1.5f, 0), (0.5f, 0), (1f, 2), (3f, 2) })
        {
            int[] best = BestByTrial(model, [0], 5, penalty, noRepeat);
            Assert.Equal(best, Decode.Generate(model, [0], wide with { RepetitionPenalty = penalty, NoRepeatNgramSize = noRepeat }));
            Assert.Equal([best, best], Decode.GenerateBatch(model, new ReadOnlyTensorSpan<int>([0, 0], [2, 1]), default, wide with { RepetitionPenalty = penalty, NoRepeatNgramSize = noRepeat }));
        }
        Assert.Equal([1, 2, 3, 0, 1], BestByTrial(model, [0], 5, 1f, 0));
        Assert.All(new[] { (1f, 2), (3f, 2) }, r => Assert.NotEqual([1, 2, 3, 0, 1], BestByTrial(model, [0], 5, r.Item1, r.Item2))); // (the bigrams change the best)
        // a least length: no end token among the first three
        int[] late = Decode.Generate(model, [0], wide with { EndTokens = 2, MinNewTokens = 3 });
        Assert.DoesNotContain(2, late[..3]);
    }

    [Fact]
    public void EarlyStoppingEndsABeamSearchOnceItsWidthHaveEnded()
    {
        // from 0: the end 3 (0.4), 1 (0.35), 2 (0.25); 1 nearly always ends next; 2 nearly always repeats. Per token, [1, 3]
        // scores −0.58 and [3] −0.92: both have ended after two steps, and early stopping returns [1, 3]; searched on, [2, 2, 2,
        // 2, 2] (−1.47 over 5 = −0.29) beats them
        var model = new TableModel(
        [
            [0f, 0.35f, 0.25f, 0.4f],
            [0.05f, 0.025f, 0.025f, 0.9f],
            [0f, 0f, 0.98f, 0.02f],
            [0.25f, 0.25f, 0.25f, 0.25f],
        ]);
        var beams = new GenerationConfig { NumBeams = 2, MaxNewTokens = 5, EndTokens = 3 };
        Assert.Equal([2, 2, 2, 2, 2], Decode.Generate(model, [0], beams));
        Assert.Equal([1, 3], Decode.Generate(model, [0], beams with { EarlyStopping = true }));
    }

    [Fact]
    public void SeveralSequencesPerPromptAreDrawnApartOrABeamSearchsBest()
    {
        var model = new TinyGpt(seed: 3);
        var prompts = new ReadOnlyTensorSpan<int>([1, 4, 2, 3, 5, 0], [2, 3]);
        int[] lengths = [3, 2];
        // sampled: each prompt three times in a row, each row drawn apart
        var sampling = new GenerationConfig { DoSample = true, Temperature = 1.2f, MaxNewTokens = 6, NumReturnSequences = 3 };
        int[][] drawn = Decode.GenerateBatch(model, prompts, lengths, sampling, new Rng(5));
        var repeated = new ReadOnlyTensorSpan<int>([1, 4, 2, 1, 4, 2, 1, 4, 2, 3, 5, 0, 3, 5, 0, 3, 5, 0], [6, 3]);
        Assert.Equal(Decode.SampleBatch(model, repeated, [3, 3, 3, 2, 2, 2], 6, 1.2f, 50, new Rng(5)), drawn);
        Assert.False(drawn[0].SequenceEqual(drawn[1]) && drawn[1].SequenceEqual(drawn[2]), "three draws alike");
        // a beam search's three best of four, prompt after prompt
        var beams = new GenerationConfig { NumBeams = 4, MaxNewTokens = 6, NumReturnSequences = 3, LengthPenalty = 0.5f };
        Assert.Equal(Decode.BeamBatch(model, prompts, lengths, 4, 6, default, 0.5f).SelectMany(f => f.Take(3).Select(h => h.Tokens)), Decode.GenerateBatch(model, prompts, lengths, beams));
        // refused: greedy decoding, more than the beams, the decoders of one sequence
        int[] flat = [1, 4, 2, 3, 5, 0];
        Assert.Contains("needs sampling", Assert.Throws<ArgumentException>(() => Decode.GenerateBatch(model, new ReadOnlyTensorSpan<int>(flat, [2, 3]), lengths, new GenerationConfig { NumReturnSequences = 2, MaxNewTokens = 3 })).Message);
        Assert.Contains("NumBeams 2", Assert.Throws<ArgumentException>(() => Decode.GenerateBatch(model, new ReadOnlyTensorSpan<int>(flat, [2, 3]), lengths, beams with { NumBeams = 2 })).Message);
        Assert.Contains("Generate gives one sequence", Assert.Throws<ArgumentException>(() => Decode.Generate(model, Prompt, sampling, new Rng(1))).Message);
        Assert.Contains("Stream gives one sequence", Assert.Throws<ArgumentException>(() => Decode.Stream(model, Prompt, sampling, new Rng(1))).Message);
        // an encoder–decoder's batch: the beams' best, and sampled rows as the sources each twice
        var translator = new TransformerSeq2Seq(seed: 2);
        int[] two = [5, 9, 3, 7, 2, 8, 4, 4, 1, 0, 0, 0];
        var sources = new ReadOnlyTensorSpan<int>(two, [2, 6]);
        int[] sourceLengths = [6, 3];
        var encodedBeams = new GenerationConfig { DecoderStartToken = 1, NumBeams = 3, NumReturnSequences = 2, MaxNewTokens = 5 };
        Assert.Equal(translator.Beam(sources, sourceLengths, 1, 3, 5).SelectMany(f => f.Take(2).Select(h => h.Tokens)), translator.Generate(sources, sourceLengths, encodedBeams));
        var encodedSampling = new GenerationConfig { DecoderStartToken = 1, DoSample = true, NumReturnSequences = 2, MaxNewTokens = 5 };
        int[][] translated = translator.Generate(sources, sourceLengths, encodedSampling, new Rng(3));
        var twice = new ReadOnlyTensorSpan<int>([.. two[..6], .. two[..6], .. two[6..], .. two[6..]], [4, 6]);
        Assert.Equal(translator.Generate(twice, [6, 6, 3, 3], encodedSampling with { NumReturnSequences = 1 }, new Rng(3)), translated);
        Assert.Contains("Generate gives one sequence", Assert.Throws<ArgumentException>(() => translator.Generate(new ReadOnlyTensorSpan<int>(two, [1, 6]), encodedSampling, new Rng(1))).Message);
    }
}
