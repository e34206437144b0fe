using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Emitting;
using Dsl.Generator.Layers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Dsl.Generator;

/// <summary>
/// The Dsl source generator: parse → shape → lower → emit, one incremental provider per layer
/// attribute. Each model is produced by the provider of its first layer attribute, so every
/// model flows through exactly one chain and is cached on its own.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class DslGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline's steps, for caching tests.</summary>
    public static class Steps
    {
        public const string Parse = "Dsl.Parse";
        public const string Models = "Dsl.Models";
        public const string External = "Dsl.External";
        public const string Resolve = "Dsl.Resolve";
        public const string Shape = "Dsl.Shape";
        public const string Lower = "Dsl.Lower";
        public const string Device = "Dsl.Device";
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Parse: one provider per layer attribute (each model from the provider of its first layer), one for compositions.
        var parsed = new List<IncrementalValueProvider<ImmutableArray<ModelSpec>>>();
        foreach (LayerDefinition definition in LayerRegistry.All)
        {
            LayerKind kind = definition.Kind;
            parsed.Add(context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    definition.AttributeName,
                    static (node, _) => node is ClassDeclarationSyntax,
                    (ctx, ct) => ModelParser.ParseIfFirst((INamedTypeSymbol)ctx.TargetSymbol, kind, ct)?.WithoutLocations())
                .Where(static m => m is not null)
                .Select(static (m, _) => m!)
                .WithTrackingName(Steps.Parse + "." + kind)
                .Collect());
        }
        parsed.Add(context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ModelParser.EncoderDecoderAttribute,
                static (node, _) => node is ClassDeclarationSyntax,
                static (ctx, ct) => ModelParser.ParseComposition((INamedTypeSymbol)ctx.TargetSymbol, ct)?.WithoutLocations())
            .Where(static m => m is not null)
            .Select(static (m, _) => m!)
            .WithTrackingName(Steps.Parse + ".EncoderDecoder")
            .Collect());

        // Models refer to each other (cross-attention's Over, compositions): each flows on with the specs it refers to.
        IncrementalValueProvider<ImmutableArray<ModelSpec>> all = parsed
            .Aggregate(static (a, b) => a.Combine(b).Select(static (pair, _) => pair.Left.AddRange(pair.Right)))
            .WithTrackingName(Steps.Models);
        // Models of referenced assemblies that these refer to (an encoder in a library), read once per compilation into
        // equatable specs: when none is referenced (the usual case) the value stays empty and everything after stays cached.
        IncrementalValueProvider<EquatableArray<ModelSpec>> external = all
            .Combine(context.CompilationProvider)
            .Select(static (pair, ct) => ModelWithReferences.External(pair.Left, pair.Right, ct))
            .WithTrackingName(Steps.External);
        IncrementalValuesProvider<ModelWithReferences> resolved = all
            .Combine(external)
            .SelectMany(static (pair, _) => ModelWithReferences.All(pair.Left, pair.Right))
            .WithTrackingName(Steps.Resolve);

        IncrementalValuesProvider<ShapedModel> shaped = resolved
            .Select(static (m, ct) =>
            {
                ct.ThrowIfCancellationRequested();
                return InvariantCulture.Run(() => ShapeInference.Infer(m.Model, m.Find));
            })
            .WithTrackingName(Steps.Shape);

        IncrementalValuesProvider<(ShapedModel Model, ModelPlan? Plan)> lowered = shaped
            .Select(static (m, ct) =>
            {
                ct.ThrowIfCancellationRequested();
                return (m, m.IsValid && m.Composition is null ? InvariantCulture.Run(() => Lowerer.Lower(m)) : null);
            })
            .WithTrackingName(Steps.Lower);

        // Diagnostics are the analyzer's (Analyzers/DslAnalyzer.cs, reading the same Shapes; the specs here carry no
        // locations, so that moving a model in its file reruns nothing): the generator only
        // writes code, throwing bodies for an invalid model, nothing for a class it cannot extend.
        // The device backend is written only for a project that references Dsl.Gpu: an equatable flag read from the
        // compilation's references, so that nothing downstream reruns when the compilation changes but the flag does not.
        IncrementalValueProvider<bool> device = context.CompilationProvider
            .Select(static (c, _) => c.ReferencedAssemblyNames.Any(a => a.Name == "Dsl.Gpu"))
            .WithTrackingName(Steps.Device);

        context.RegisterSourceOutput(lowered.Combine(device), static (spc, pair) =>
        {
            var ((model, plan), gpu) = pair;
            spc.CancellationToken.ThrowIfCancellationRequested();
            using var invariant = InvariantCulture.Scope();
            string? source = model.Composition is not null ? CompositionEmitter.Emit(model) : ModelEmitter.Emit(model, plan, gpu);
            string stem = ModelWithReferences.HintStem(model.Spec.OutputStem ?? model.Spec.Key);
            if (source is not null) spc.AddSource(stem + ".g.cs", source);
            if (gpu && model.Composition is null && (plan is not null ? DeviceEmitter.Emit(model, plan) : DeviceEmitter.EmitInvalid(model)) is { } deviceSource)
                spc.AddSource(stem + ".Device.g.cs", deviceSource);
        });
    }
}

/// <summary>A model and every model it refers to, directly or through others: all that shaping it reads.</summary>
internal sealed record ModelWithReferences(ModelSpec Model, EquatableArray<ModelSpec> References)
{
    /// <summary>Every model of this compilation with what it refers to, here or in <paramref name="external"/> (referenced assemblies).</summary>
    public static IEnumerable<ModelWithReferences> All(ImmutableArray<ModelSpec> models, EquatableArray<ModelSpec> external)
    {
        var byKey = new Dictionary<string, ModelSpec>();
        foreach (ModelSpec m in external) byKey[m.Key] = m;
        foreach (ModelSpec m in models) byKey[m.Key] = m;
        // a class whose layer attributes sit on several partial declarations arrives once per declaration: written once
        // (two sources of one name would fail the generator, and every model of the project would lose its code)
        var written = new HashSet<string>();
        List<ModelSpec> distinct = models.Where(m => written.Add(m.Key)).ToList();
        // keys that differ only in case: all but the first (in ordinal order) write under a tag of their spelling
        var tagged = new HashSet<string>(distinct.GroupBy(m => m.Key, StringComparer.OrdinalIgnoreCase)
            .SelectMany(g => g.Select(m => m.Key).OrderBy(k => k, StringComparer.Ordinal).Skip(1)), StringComparer.Ordinal);
        return distinct.Select(m => Of(tagged.Contains(m.Key) ? m with { OutputStem = $"{m.Key}.{CaseTag(m.Key)}" } : m, byKey)).ToList();
    }

    /// <summary>A hash of where a key's capital letters stand (16 hexadecimal digits): two keys that differ only in case differ here.</summary>
    private static string CaseTag(string key)
    {
        ulong hash = 14695981039346656037UL; // FNV-1a over the capitals' positions
        for (int i = 0; i < key.Length; i++)
        {
            if (!char.IsUpper(key[i])) continue;
            hash = (hash ^ (ulong)i) * 1099511628211UL;
        }
        return hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// <paramref name="stem"/> as a hint name AddSource accepts: a character it refuses (a metadata name's '&lt;', '&gt;')
    /// becomes '_', and the stem then ends in a hash of its spelling, so that two stems stay apart. (A name AddSource refuses
    /// throws, and every model of the project would lose its code.)
    /// </summary>
    internal static string HintStem(string stem)
    {
        if (stem.All(Accepted)) return stem;
        ulong hash = 14695981039346656037UL; // FNV-1a over the characters
        foreach (char c in stem) hash = (hash ^ c) * 1099511628211UL;
        return new string(stem.Select(c => Accepted(c) ? c : '_').ToArray()) + "." + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

        static bool Accepted(char c) => char.IsLetterOrDigit(c) || c is '.' or '+' or '_' or '-' or '`';
    }

    /// <summary>The models of referenced assemblies that <paramref name="models"/> refer to, directly or through each other.</summary>
    public static EquatableArray<ModelSpec> External(ImmutableArray<ModelSpec> models, Compilation compilation, System.Threading.CancellationToken cancellationToken)
    {
        var local = new HashSet<string>(models.Select(m => m.Key));
        var found = new List<ModelSpec>();
        var pending = new Queue<string>(models.SelectMany(Keys).Where(k => !local.Contains(k)));
        var seen = new HashSet<string>(pending);
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // a type of another assembly, whether read from a DLL or, in the IDE, from another project of the solution (whose
            // types have source locations: skipping those had shaped the app's composition with its encoder missing)
            if (compilation.GetTypeByMetadataName(pending.Dequeue()) is not { } type || SymbolEqualityComparer.Default.Equals(type.ContainingAssembly, compilation.Assembly)) continue;
            if (ModelParser.Parse(type, cancellationToken)?.WithoutLocations() is not { } spec) continue;
            found.Add(spec);
            foreach (string key in Keys(spec).Where(k => !local.Contains(k) && seen.Add(k))) pending.Enqueue(key);
        }
        return found.OrderBy(m => m.Key, StringComparer.Ordinal).ToEquatableArray();
    }

    /// <summary>The keys of the models <paramref name="model"/> refers to.</summary>
    private static IEnumerable<string> Keys(ModelSpec model) =>
        (model.Composition is { } c ? new[] { c.Encoder, c.Decoder } : model.Layers.Select(l => l.ReferencedModel)).Where(k => k is not null)!;

    private static ModelWithReferences Of(ModelSpec model, Dictionary<string, ModelSpec> byKey)
    {
        var found = new List<ModelSpec>();
        var seen = new HashSet<string> { model.Key };
        var pending = new Queue<ModelSpec>();
        pending.Enqueue(model);
        while (pending.Count > 0)
        {
            ModelSpec m = pending.Dequeue();
            foreach (string key in Keys(m))
            {
                if (!seen.Add(key) || !byKey.TryGetValue(key, out ModelSpec? other)) continue;
                found.Add(other);
                pending.Enqueue(other);
            }
        }
        return new ModelWithReferences(model, found.OrderBy(m => m.Key, StringComparer.Ordinal).ToEquatableArray());
    }

    /// <summary>The referenced model with this key, or null.</summary>
    public ModelSpec? Find(string key) => key == Model.Key ? Model : References.FirstOrDefault(m => m.Key == key);
}
