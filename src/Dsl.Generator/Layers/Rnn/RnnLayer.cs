using Dsl.Generator.Layers.Recurrent;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Rnn;

/// <summary><c>[Rnn(hidden: H)]</c>: Elman RNN (nn.RNN), tanh or ReLU.</summary>
internal sealed record RnnSpec(LayerHeader Header, RecurrentOptions Options, ActivationKind Activation) : RecurrentSpec(Header, Options)
{
    public override LayerKind Kind => LayerKind.Rnn;

    public override int GateBlocks => 1;

    public override InitKind DefaultInputInit => Activation == ActivationKind.Relu ? InitKind.HeUniform : InitKind.XavierUniform;

    public string Relu => Activation == ActivationKind.Relu ? "true" : "false";
}

internal sealed class RnnLayer : RecurrentLayer<RnnSpec>
{
    private const string Cell = "global::Dsl.Kernels.RnnCell";

    public override LayerKind Kind => LayerKind.Rnn;

    public override string AttributeName => "Dsl.RnnAttribute";

    public override LayerSpec Parse(AttributeReader a) => new RnnSpec(a.Header, RecurrentOptions.Read(a), a.Activation(ActivationKind.Tanh));

    protected override void CheckCell(RnnSpec spec, OptionChecks c)
    {
        if (spec.Activation is not (ActivationKind.Tanh or ActivationKind.Relu)) c.Invalid("activation", $"an RNN's Activation must be Tanh or Relu, not {spec.Activation}");
    }

    protected override string GatesComment => "gate activations (pre-activation)";

    protected override ActivationKind DescribedActivation(RnnSpec spec) => spec.Activation;

    public override string Describe(RecurrentSpec spec) => "RNN";

    public override string ForwardComment(RecurrentSpec spec) => $"// h' = {((RnnSpec)spec).Activation.ToString().ToLowerInvariant()}(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh)";

    public override void EmitForwardStep(RecurrentSpec spec, CellWriter c)
    {
        c.W.Line($"if (hasPrev) {c.Recurrent("B", "G", "H", "hIn", "ldi", "w_hh", "packed", "g", "G")}");
        c.W.Line($"{Cell}.ForwardRows(B, H, g, G, y.Slice(t * B * Y + yOffset), Y, relu: {((RnnSpec)spec).Relu});");
    }

    public override void EmitBackwardStep(RecurrentSpec spec, CellWriter c)
    {
        c.W.Line($"{Cell}.BackwardRows(B, H, y.Slice(t * B * Y + yOffset), Y, dy.Slice(t * B * Y + yOffset), Y, carry, d, G, relu: {((RnnSpec)spec).Relu});");
        c.W.Line($"if ({c.WantPrevious}) {c.BackProduct("G", "d", "G", "w_hh", "packed", accumulate: false)} // dh of the previous step (or of the initial state)");
        c.ApplyRecurrentMask();
    }
}
