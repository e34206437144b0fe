using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Emitting;

/// <summary>
/// Writes the C# of an <c>[EncoderDecoder]</c> composition: a class deriving from the runtime's
/// <c>EncoderDecoderModel</c>, constructing both parts and the bridges shape inference chose.
/// </summary>
internal static class CompositionEmitter
{
    private const string T = "global::System.Numerics.Tensors";

    /// <summary>The source of a composition, or null when nothing may be generated (the class is not partial).</summary>
    public static string? Emit(ShapedModel model)
    {
        ModelSpec spec = model.Spec;
        if (!spec.CanGenerate) return null;
        ShapedComposition c = model.Composition!;
        string source = c.Encoder is { TakesTokens: false } ? "float" : "int";
        return GeneratedFile.Write(spec, w =>
        {
            if (model.IsValid) EmitValid(w, model, c, source);
            else EmitInvalid(w, model, c, source);
        });
    }

    private static void EmitValid(SourceWriter w, ShapedModel model, ShapedComposition c, string source)
    {
        ShapedModel encoder = c.Encoder!, decoder = c.Decoder!;
        string e = encoder.Spec.TypeName, d = decoder.Spec.TypeName;
        w.Open($"partial class {model.Spec.Name} : global::Dsl.EncoderDecoderModel<{source}, {e}, {d}>");
        w.Line(encoder.TakesTokens
            ? "/// <summary>Vocabulary of the source: token ids are in [0, SourceWidth).</summary>"
            : "/// <summary>Features per source step.</summary>");
        w.Line($"public const int SourceWidth = {encoder.InputWidth};");
        w.Line("/// <summary>Vocabulary of the target: the decoder's logits are [batch, steps, TargetVocabulary].</summary>");
        w.Line($"public const int TargetVocabulary = {decoder.OutputWidth};");
        w.Line();
        string bridges = string.Join(", ", c.Bridges.Select(b =>
            $"new global::Dsl.Bridge(\"{b.Name}\", {b.From}, {b.To}, {b.InWidth}, {b.OutWidth}, Dense: {(b.Dense ? "true" : "false")}, Tanh: {(b.Tanh ? "true" : "false")})"));
        w.Line(c.Bridges.Count == 0
            ? "private static readonly global::Dsl.Bridge[] s_bridges = global::System.Array.Empty<global::Dsl.Bridge>(); // no recurrent layer on one side: the decoder reads the encoder only through attention"
            : $"private static readonly global::Dsl.Bridge[] s_bridges = new global::Dsl.Bridge[] {{ {bridges} }};");
        w.Line();
        string shared = c.Shared is { } share ? $", sharedEmbedding: (\"{share.EncoderWeight}\", \"{share.DecoderWeight}\")" : "";
        if (c.Shared is not null)
            w.Line("/// <summary>Creates the encoder and decoder (the decoder from a seed derived from <paramref name=\"seed\"/>), the decoder's embedding the encoder's table, and the bridges between their states.</summary>");
        else
            w.Line($"/// <summary>Creates the encoder and decoder (the decoder from a seed derived from <paramref name=\"seed\"/>) and the bridges between their states.</summary>");
        w.Line($"public {model.Spec.Name}(int seed = 0) : base(new {e}(seed), new {d}(unchecked(seed * 1000003 + 1)), s_bridges, seed{shared}) {{ }}");
        if (decoder.HasCrossAttention)
        {
            // by default the weights over the source: the first cross-attention layer (a Transformer's first is its self-attention)
            string cross = decoder.Layers.First(l => l.IsCrossAttention).Name;
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// The decoder's attention weights [batch, heads, steps, source steps] when it reads <paramref name=\"decoderInput\"/> [batch, steps]");
            w.Line("/// (the start token, then the output) over <paramref name=\"source\"/> [batch, source steps] of the given <paramref name=\"lengths\"/>");
            w.Line($"/// (empty: all full): rows sum to 1 over each source's own steps. <paramref name=\"layer\"/>: another attention layer of the decoder (default '{cross}').");
            w.Line("/// </summary>");
            w.Open($"public {T}.Tensor<float> AttentionWeights({T}.ReadOnlyTensorSpan<{source}> source, global::System.ReadOnlySpan<int> lengths, {T}.ReadOnlyTensorSpan<int> decoderInput, string? layer = null)");
            w.Line("RequireDecoderInput(source, decoderInput); // (before the encoder runs: each error names the argument at fault)");
            w.Line($"Decoder.Forward(decoderInput, ({d}.State)Encode(source, lengths));");
            w.Line($"return Decoder.AttentionWeights(layer ?? \"{cross}\");");
            w.Close();
        }
        w.Close();
    }

    /// <summary>An invalid composition keeps its main members, each throwing, so that code using it shows no cascade of errors.</summary>
    private static void EmitInvalid(SourceWriter w, ShapedModel model, ShapedComposition c, string source)
    {
        string fail = ModelEmitter.ThrowDeclarationErrors(model);
        if (c.Encoder is { OutputIsSequence: true, Spec.CanGenerate: true } encoder && c.Decoder is { TakesTokens: true, Spec.CanGenerate: true } decoder
            && encoder.Spec.IsAtLeastAsAccessibleAs(model.Spec) && decoder.Spec.IsAtLeastAsAccessibleAs(model.Spec))
        {
            // both parts are models (valid, or their own throwing placeholders) that the class may derive over (CS0060): the
            // runtime's class then gives every member a valid composition has (Encoder, Decoder, Greedy, Beam, …); only the
            // constructor throws
            string e = encoder.Spec.TypeName, d = decoder.Spec.TypeName;
            w.Open($"partial class {model.Spec.Name} : global::Dsl.EncoderDecoderModel<{source}, {e}, {d}>");
            w.Line("/// <summary>Not generated: the declaration has errors.</summary>");
            w.Line($"public {model.Spec.Name}(int seed = 0) : base(Fail<{e}>(), Fail<{d}>(), global::System.Array.Empty<global::Dsl.Bridge>(), seed) {{ }}");
            w.Line($"private static TPart Fail<TPart>() => {fail}");
            if (decoder.Spec.Layers.Any(l => l.Kind == Layers.LayerKind.Attention))
                w.Line($"public {T}.Tensor<float> AttentionWeights({T}.ReadOnlyTensorSpan<{source}> source, global::System.ReadOnlySpan<int> lengths, {T}.ReadOnlyTensorSpan<int> decoderInput, string? layer = null) => {fail}");
            w.Close();
            return;
        }
        string src = $"{T}.ReadOnlyTensorSpan<{source}> source";
        string tokens = $"{T}.ReadOnlyTensorSpan<int>";
        w.Open($"partial class {model.Spec.Name}");
        w.Line("/// <summary>Not generated: the declaration has errors.</summary>");
        w.Line($"public {model.Spec.Name}(int seed = 0) => {fail}");
        w.Line($"public global::Dsl.ParameterSet Parameters => {fail}");
        w.Line($"public global::Dsl.IDecoderState Encode({src}, global::System.ReadOnlySpan<int> lengths = default) => {fail}");
        w.Line($"public {T}.Tensor<float> Forward({src}, global::System.ReadOnlySpan<int> lengths, {tokens} decoderInput) => {fail}");
        w.Line($"public float Loss({src}, global::System.ReadOnlySpan<int> lengths, {tokens} decoderInput, {tokens} targets) => {fail}");
        w.Line($"public float Backward({src}, global::System.ReadOnlySpan<int> lengths, {tokens} decoderInput, {tokens} targets, float teacherForcing = 1f) => {fail}");
        w.Line($"public int[] Greedy({src}, int startToken, int maxLength, global::Dsl.EndTokens endToken = default) => {fail}");
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<global::Dsl.Hypothesis> Beam({src}, int startToken, int beamWidth, int maxLength, global::Dsl.EndTokens endToken = default, float lengthPenalty = 1f) => {fail}");
        w.Line($"public int[] Generate({src}, global::Dsl.GenerationConfig config, global::Dsl.Rng? rng = null) => {fail}");
        w.Line($"public global::System.Collections.Generic.IEnumerable<int> Stream({src}, global::Dsl.GenerationConfig config, global::Dsl.Rng? rng = null) => {fail}");
        w.Close();
    }
}
