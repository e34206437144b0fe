using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Diagnostics;
using Dsl.Generator.Helpers;
using Dsl.Generator.Layers;
using Dsl.Generator.Layers.Embedding;
using Dsl.Generator.Layers.Input;
using Dsl.Generator.Layers.Recurrent;
using Dsl.Generator.Parsing;
using Microsoft.CodeAnalysis;

namespace Dsl.Generator.Shapes;

/// <summary>
/// Resolves names and widths through the layer stack and finds every mistake a declaration can
/// hold. Written once; the generator and (later) the analyzers both read its findings.
/// </summary>
internal static class ShapeInference
{
    /// <summary>
    /// A chain of models referring to each other deeper than this is reported as one that does not end (a guard on the
    /// recursion: cycles are found at once, see <see cref="ShapeReferenced"/>, and a valid chain is one model deep).
    /// </summary>
    private const int MaxDepth = 64;

    /// <summary>
    /// Shapes <paramref name="model"/>; <paramref name="resolve"/> finds the models it refers to (cross-attention's
    /// <c>Over</c>, a composition's encoder and decoder) by <see cref="ModelSpec.Key"/>, null when there is none.
    /// </summary>
    public static ShapedModel Infer(ModelSpec model, System.Func<string, ModelSpec?> resolve) => Infer(model, new Referenced(resolve), 0);

    /// <summary>The models one inference refers to, each shaped once however many layers or models name it.</summary>
    private sealed class Referenced
    {
        private readonly Dictionary<string, ShapedModel> _shaped = new();

        public Referenced(System.Func<string, ModelSpec?> resolve) => Resolve = resolve;

        public System.Func<string, ModelSpec?> Resolve { get; }

        public ShapedModel Shape(ModelSpec spec, int depth)
        {
            if (!_shaped.TryGetValue(spec.Key, out ShapedModel? shaped)) _shaped[spec.Key] = shaped = Infer(spec, this, depth);
            return shaped;
        }

        /// <summary>
        /// Whether shaping <paramref name="from"/> (a model with layers) shapes <paramref name="key"/>: a layer of it, or of a
        /// model it refers to, refers to that key (a composition named by a layer is not a model and is not shaped).
        /// </summary>
        public bool Reaches(ModelSpec from, string key)
        {
            var seen = new HashSet<string> { from.Key };
            var pending = new Stack<ModelSpec>();
            pending.Push(from);
            while (pending.Count > 0)
            {
                foreach (string next in pending.Pop().Layers.Select(l => l.ReferencedModel).OfType<string>())
                {
                    if (next == key) return true;
                    if (seen.Add(next) && Resolve(next) is { Composition: null } spec) pending.Push(spec);
                }
            }
            return false;
        }
    }

    private static ShapedModel Infer(ModelSpec model, Referenced referenced, int depth)
    {
        System.Func<string, ModelSpec?> resolve = referenced.Resolve;
        var diagnostics = new List<DiagnosticInfo>();
        string[] names = ResolveNames(model, diagnostics);
        // a class named as a member the generated code declares in it cannot hold that member (CS0542): nothing is generated
        if (model.UnsupportedReason is null && NameClash(model, names) is { } clash) model = model with { UnsupportedReason = clash };
        // the class's own mistakes, which no argument's value changes (they stand beside C#'s argument errors, below)
        var classLevel = new List<DiagnosticInfo>();
        if (!model.IsPartial) classLevel.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ClassNotPartial, model.NameLocation, model.Name));
        if (model.UnsupportedReason is { } reason) classLevel.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedModelType, model.NameLocation, model.Name, reason));
        foreach (ContainingTypeSpec outer in model.ContainingTypes)
        {
            if (!outer.IsPartial) classLevel.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContainingTypeNotPartial, outer.NameLocation, model.Name, outer.Name));
        }
        classLevel.AddRange(model.RepeatProblems);
        diagnostics.AddRange(classLevel);

        if (model.Composition is { } composition) return InferComposition(model, composition, referenced, depth, diagnostics);

        for (int i = 0; i < model.Layers.Count; i++)
        {
            LayerSpec layer = model.Layers[i];
            if (layer.ExplicitName is { } explicitName && !IsIdentifier(explicitName))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, layer.ArgumentLocation("name"), names[i],
                    $"Name = \"{explicitName}\" must be a non-empty identifier of letters, digits and '_' that does not start with a digit"));
            LayerRegistry.Of(layer).CheckOptions(layer, new OptionChecks(layer, names[i], diagnostics));
        }

        LayerSpec first = model.Layers[0];
        if (!first.IsInput)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MissingInputLayer, first.Location, model.Name, names[0]));
        if (model.Layers.Count == 1 && first.IsInput)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NoLayerAfterInput, first.Location, model.Name));

        // Each layer's shape rule sees what flows into it: the previous layer's output.
        var shaped = new List<ShapedLayer>();
        var context = new ShapeContext(model, names, shaped, diagnostics, (key, c) => ShapeReferenced(key, c, referenced), resolve, depth)
        {
            InWidth = 0,
            InIsSequence = true,
            Producer = names[0],
        };
        for (int i = 0; i < model.Layers.Count; i++)
        {
            context.Index = i;
            context.VectorReason = null;
            ShapedLayer layer = LayerRegistry.Of(model.Layers[i]).Shape(model.Layers[i], context);
            shaped.Add(layer);
            if (context.VectorReason is { } why)
            {
                context.Producer = names[i];
                context.ProducerReturns = why;
            }
            context.InWidth = layer.OutWidth;
            context.InIsSequence = layer.OutIsSequence;
        }

        // a [Branch] goes back past the output before it: a model that never adds that output in computed it for nothing
        for (int i = 1; i < shaped.Count; i++)
        {
            if (shaped[i].Kind != LayerKind.Branch || shaped[i].SkipFrom < 0) continue;
            int before = i - 1;
            if (!shaped.Skip(i + 1).Any(l => l.SkipFrom == before))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.OutputReadByNothing, model.Layers[i].Location, names[before], names[i], names[shaped[i].SkipFrom + 1]));
        }

        bool takesTokens = first is EmbeddingSpec;
        bool valid = !diagnostics.Any(d => DiagnosticDescriptors.ById(d.Id).DefaultSeverity == DiagnosticSeverity.Error);
        if (model.Layers.Any(l => l.Header.CSharpErrors))
        {
            // C# has reported an argument it refused: what the model's checks find from a value nobody wrote (a 0 in place of a
            // size that is no constant) would only stand beside it; the model is left ungenerated until C# accepts it. The
            // class's own mistakes stay: DSL0001's code fix is offered while the argument is still being written
            diagnostics.Clear();
            diagnostics.AddRange(classLevel);
            valid = false;
        }
        // a mistake in a repeated layer is found in every copy, at the one place it is written: reported once, the first copy's
        if (model.Repeats)
        {
            var seen = new HashSet<(string, LocationInfo?)>();
            diagnostics.RemoveAll(d => d.Location is not null && !seen.Add((d.Id, d.Location)));
        }
        return new ShapedModel(
            model,
            shaped.ToEquatableArray(),
            takesTokens,
            first switch { EmbeddingSpec e => e.Vocab, InputSpec f => f.Features, _ => 0 },
            first is EmbeddingSpec embedding ? embedding.Vocab : 0,
            context.InWidth,
            context.InIsSequence,
            shaped.All(l => l.StepBlocker is null),
            diagnostics.ToEquatableArray(),
            valid);
    }

    /// <summary>
    /// Shapes a model that <paramref name="context"/>'s model refers to, one level deeper; null when it refers back to that
    /// model, directly or through others (a cycle: two models attending over each other had re-shaped each other to the
    /// depth guard, k such layers k⁸ times), or past <see cref="MaxDepth"/>.
    /// </summary>
    private static ShapedModel? ShapeReferenced(string key, ShapeContext context, Referenced referenced)
    {
        if (context.Depth >= MaxDepth || referenced.Resolve(key) is not { } spec || referenced.Reaches(spec, context.Model.Key)) return null;
        return referenced.Shape(spec, context.Depth + 1);
    }

    /// <summary>
    /// An encoder–decoder: both parts valid, the decoder a token model that steps and attends over this encoder, and the
    /// bridges from the encoder's last recurrent layer's final states to the decoder's first recurrent layer.
    /// </summary>
    private static ShapedModel InferComposition(ModelSpec model, CompositionSpec c, Referenced referenced, int depth, List<DiagnosticInfo> diagnostics)
    {
        System.Func<string, ModelSpec?> resolve = referenced.Resolve;
        void Mismatch(LocationInfo? at, string why) => diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.EncoderDecoderMismatch, at, model.Name, why));
        ShapedModel? Part(string? key, string display, LocationInfo? at, string role)
        {
            ModelSpec? spec = key is null ? null : resolve(key);
            if (spec is null || spec.Composition is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.NotAModel, at, $"'{model.Name}'", "the " + role, display));
                return null;
            }
            // the generated class derives from EncoderDecoderModel<…, E, D>: a part less accessible than it is CS0060
            if (!spec.IsAtLeastAsAccessibleAs(model))
                Mismatch(at, $"its {role} '{spec.Name}' is {ModelSpec.Words(spec.Accessibility)}, less accessible than the {ModelSpec.Words(model.Accessibility)} '{model.Name}', whose generated base class names it (CS0060)");
            if (depth >= MaxDepth) return null;
            ShapedModel shaped = referenced.Shape(spec, depth + 1);
            if (!shaped.IsValid) Mismatch(at, $"its {role} '{spec.Name}' has declaration errors");
            return shaped; // an invalid part is kept for what the placeholder composition needs (its types), and checked no further
        }

        ShapedModel? encoder = Part(c.Encoder, c.EncoderDisplay, c.EncoderLocation, "encoder");
        ShapedModel? decoder = Part(c.Decoder, c.DecoderDisplay, c.DecoderLocation, "decoder");
        var bridges = new List<BridgeSpec>();
        if (encoder is { IsValid: true } && decoder is { IsValid: true })
        {
            string d = decoder.Spec.Name;
            if (!encoder.OutputIsSequence)
                Mismatch(c.EncoderLocation, $"its encoder '{encoder.Spec.Name}' returns one vector per sequence; an encoder returns a sequence (no ReturnSequences = false, no pooling) for the decoder to attend over and start from");
            if (encoder.Layers.FirstOrDefault(l => l.IsCrossAttention) is { } reads)
                Mismatch(c.EncoderLocation, $"its encoder '{encoder.Spec.Name}' attends over another model's outputs (layer '{reads.Name}'); an encoder reads only its own input");
            if (!decoder.OutputIsSequence)
                Mismatch(c.DecoderLocation, $"its decoder '{d}' returns one vector per sequence; a decoder returns its logits at every step (no ReturnSequences = false, no pooling)");
            else if (decoder.TakesTokens && decoder.OutputWidth > decoder.Vocabulary)
                Mismatch(c.DecoderLocation, $"its decoder '{d}' outputs {decoder.OutputWidth} logits a step but reads a vocabulary of {decoder.Vocabulary}; decoding feeds the most likely output back as the next token, so it must be an id the decoder reads (a last [Dense({decoder.Vocabulary})])");
            if (!decoder.TakesTokens)
                Mismatch(c.DecoderLocation, $"its decoder '{d}' must read tokens (an [Embedding] first): decoding feeds it its own predictions");
            if (decoder.StepBlocker is { } blocker)
                Mismatch(c.DecoderLocation, $"its decoder '{d}' cannot step (layer '{blocker.Layer.Name}' {blocker.Why}); decoding runs one token at a time");
            foreach (ShapedLayer l in decoder.Layers.Where(l => l.Spec.ReferencedModel is { } over && over != c.Encoder))
                Mismatch(c.DecoderLocation, $"the decoder's layer '{l.Name}' attends over '{l.MemoryModel ?? l.Spec.ReferencedModelDisplay}', not over the encoder '{encoder.Spec.Name}'");
            ShapedLayer? from = encoder.Layers.LastOrDefault(l => l.Spec is RecurrentSpec), to = decoder.Layers.FirstOrDefault(l => l.Spec is RecurrentSpec);
            if (from is { Spec: RecurrentSpec fromSpec } && to is { Spec: RecurrentSpec toSpec })
            {
                int le = fromSpec.Layers, ld = toSpec.Layers;
                if (ld > le)
                    Mismatch(c.DecoderLocation, $"the decoder's '{to.Name}' has {ld} stacked layers but the encoder's '{from.Name}' only {le}; each decoder layer starts from an encoder layer");
                else
                {
                    bool encoderLstm = fromSpec.HasCellState, decoderLstm = toSpec.HasCellState;
                    // h is R wide (an LSTM's projection, else H), c is H wide
                    int inWidth = from.Directions * fromSpec.StateWidth, outWidth = toSpec.StateWidth;
                    int cellIn = from.Directions * fromSpec.Hidden, cellOut = toSpec.Hidden;
                    for (int l = 0; l < ld; l++)
                    {
                        int source = (le - ld + l) * (encoderLstm ? 2 : 1), target = l * (decoderLstm ? 2 : 1);
                        bridges.Add(new BridgeSpec($"bridge.h_l{l}", source, target, inWidth, outWidth, inWidth != outWidth, Tanh: true));
                        if (encoderLstm && decoderLstm)
                            bridges.Add(new BridgeSpec($"bridge.c_l{l}", source + 1, target + 1, cellIn, cellOut, cellIn != cellOut, Tanh: false));
                    }
                }
            }
        }
        SharedEmbedding? shared = c.ShareEmbedding && encoder is { IsValid: true } && decoder is { IsValid: true } ? Share(encoder, decoder, at => Mismatch(c.ShareEmbeddingLocation, at)) : null;
        bool valid = encoder is { IsValid: true } && decoder is { IsValid: true } && !diagnostics.Any(x => DiagnosticDescriptors.ById(x.Id).DefaultSeverity == DiagnosticSeverity.Error);
        return new ShapedModel(model, EquatableArray<ShapedLayer>.Empty, encoder?.TakesTokens ?? false, encoder?.InputWidth ?? 0, decoder?.Vocabulary ?? 0,
            decoder?.OutputWidth ?? 0, true, false, diagnostics.ToEquatableArray(), valid, new ShapedComposition(encoder, decoder, bridges.ToEquatableArray(), shared));
    }

    /// <summary>
    /// The embedding both parts share (<c>ShareEmbedding = true</c>): each model's first layer an Embedding of one vocabulary
    /// and width; else null, with what does not fit reported through <paramref name="mismatch"/>.
    /// </summary>
    private static SharedEmbedding? Share(ShapedModel encoder, ShapedModel decoder, System.Action<string> mismatch)
    {
        ShapedLayer? from = encoder.Layers.FirstOrDefault(), to = decoder.Layers.FirstOrDefault();
        if (from is not { Spec: EmbeddingSpec e })
        {
            mismatch($"ShareEmbedding: its encoder '{encoder.Spec.Name}' reads {encoder.InputWidth} features a step, not tokens; one embedding serves both only when both models start with an [Embedding]");
            return null;
        }
        if (to is not { Spec: EmbeddingSpec d }) return null; // a decoder that reads no tokens is reported as such
        if (e.Vocab != d.Vocab || e.Dim != d.Dim)
        {
            mismatch($"ShareEmbedding: the encoder's '{from.Name}' is [{e.Vocab}, {e.Dim}] and the decoder's '{to.Name}' [{d.Vocab}, {d.Dim}]; one table serves both only with one vocabulary and width (a joint vocabulary)");
            return null;
        }
        return new SharedEmbedding(from.Name + ".weight", to.Name + ".weight");
    }

    /// <summary>Why the class's name is that of a member the generated code declares in it (<see cref="Emitting.Names"/>), or null.</summary>
    private static string? NameClash(ModelSpec model, string[] names)
    {
        const string Why = "and a member cannot have its class's name (CS0542); rename the class";
        if ((model.Composition is null ? Emitting.Names.ModelMembers : Emitting.Names.CompositionMembers).Contains(model.Name))
            return $"the generated code declares a member '{model.Name}' in it, {Why}";
        return names.FirstOrDefault(layer => Emitting.Names.LayerMember(model.Name, layer)) is { } clash
            ? $"the generated code declares a member '{model.Name}' in it for layer '{clash}', {Why} or the layer"
            : null;
    }

    /// <summary>Default names are the kind in lower case, then kind_1, kind_2…; explicit names override.</summary>
    private static string[] ResolveNames(ModelSpec model, List<DiagnosticInfo> diagnostics)
    {
        var names = new string[model.Layers.Count];
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < names.Length; i++)
        {
            LayerSpec layer = model.Layers[i];
            if (layer.ExplicitName is { } explicitName)
            {
                names[i] = explicitName;
                continue;
            }
            string kind = LayerRegistry.Of(layer).DefaultName;
            counts.TryGetValue(kind, out int n);
            counts[kind] = n + 1;
            names[i] = n == 0 ? kind : kind + "_" + n;
        }
        var seen = new HashSet<string>();
        for (int i = 0; i < names.Length; i++)
        {
            if (!seen.Add(names[i]))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateLayerName, model.Layers[i].ArgumentLocation("name"), names[i], model.Name));
        }
        return names;
    }

    private static bool IsIdentifier(string name) =>
        name.Length > 0 && !char.IsDigit(name[0]) && name.All(c => c == '_' || (c < 128 && char.IsLetterOrDigit(c)));
}
