using Dsl.Generator.Emitting;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit;

namespace Dsl.Tests.Generator;

/// <summary>
/// DSL0009 refuses a model class named as a member the generated code declares in it (CS0542), from the lists in
/// <see cref="Names"/>: every name the emitters declare directly in a model or a composition, valid or not, with the
/// device backend or without, is on them (or is a layer's own, <see cref="Names.LayerMember"/>).
/// </summary>
public class GeneratedNameTests
{
    private const string Models = """
        using Dsl;
        namespace Demo;
        [Embedding(vocab: 20, dim: 6)] [Lstm(hidden: 5, LearnInitialState = true, Layers = 2, Dropout = 0.1f)] public partial class Enc;
        [Embedding(vocab: 9, dim: 4)] [Lstm(hidden: 5, Projection = 3)] [Attention(Over = typeof(Enc), Score = AttentionScore.Additive, Units = 3, InputFeeding = true)] [Dense(9)] public partial class Dec;
        [Embedding(vocab: 9, dim: 4)] [Gru(6)] [Attention(Over = typeof(Enc), Heads = 2)] [Dense(9)] public partial class Dec2;
        [EncoderDecoder(typeof(Enc), typeof(Dec))] public partial class Translator;
        [EncoderDecoder(typeof(Enc), typeof(Dec2))] public partial class Translator2;
        [Input(4)] [PositionalEncoding] [Attention(Heads = 2, Causal = true)] [Residual] [LayerNorm] [Dropout(0.1f)] [Rnn(4, Bidirectional = true)] [Attention(Pool = true)] [Dense(2)] public partial class Classifier;
        [Embedding(vocab: 9, dim: 4)] [Gru(0)] [Attention(Over = typeof(Enc))] [Dense(9)] public partial class BadDecoder;
        [EncoderDecoder(typeof(Enc), typeof(BadDecoder))] public partial class BadTranslator;
        [EncoderDecoder(typeof(Enc), typeof(string))] public partial class WorseTranslator;
        """;

    private static readonly string[] Compositions = ["Translator", "Translator2", "BadTranslator", "WorseTranslator"];

    private static readonly string[] LayerNames =
        ["embedding", "lstm", "gru", "rnn", "attention", "attention_1", "dense", "dropout", "residual", "layernorm", "positionalencoding"];

    [Fact]
    public void EveryNameTheEmittersDeclareInAModelIsListed()
    {
        foreach (var run in new[] { GeneratorHarness.Run(Models), GeneratorHarness.RunWithDevice(Models) })
        {
            var declared = new HashSet<(string Class, string Member)>();
            foreach (SyntaxTree tree in run.Result.GeneratedTrees)
            {
                foreach (ClassDeclarationSyntax model in tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().Where(c => c.Parent is BaseNamespaceDeclarationSyntax))
                {
                    foreach (MemberDeclarationSyntax member in model.Members)
                    {
                        IEnumerable<string> names = member switch
                        {
                            MethodDeclarationSyntax { ExplicitInterfaceSpecifier: null } m => [m.Identifier.ValueText],
                            PropertyDeclarationSyntax { ExplicitInterfaceSpecifier: null } p => [p.Identifier.ValueText],
                            BaseFieldDeclarationSyntax f => f.Declaration.Variables.Select(v => v.Identifier.ValueText),
                            BaseTypeDeclarationSyntax t => [t.Identifier.ValueText],
                            _ => [],
                        };
                        foreach (string name in names) declared.Add((model.Identifier.ValueText, name));
                    }
                }
            }
            Assert.Contains(("Dec", "Step"), declared); // what is read is what was generated
            Assert.Contains(("Translator", "SourceWidth"), declared);
            Assert.Contains(("WorseTranslator", "Greedy"), declared);
            var unlisted = declared.Where(d => !(Compositions.Contains(d.Class) ? Names.CompositionMembers : Names.ModelMembers).Contains(d.Member)
                && !LayerNames.Any(l => Names.LayerMember(d.Member, l))).ToList();
            Assert.Empty(unlisted);
        }
    }
}
