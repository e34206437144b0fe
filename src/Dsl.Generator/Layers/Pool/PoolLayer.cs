using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Layers.Pool;

/// <summary>The vector <c>[Pool]</c> makes of a sequence (Dsl.PoolKind's values).</summary>
internal enum PoolKind
{
    First = 0,
    Last = 1,
    Mean = 2,
    Max = 3,
}

/// <summary><c>[Pool(kind)]</c>: one vector per sequence, [T, B, W] → [B, W]: the first step, the last (of each length), the mean or the maximum of the valid steps.</summary>
internal sealed record PoolSpec(LayerHeader Header, PoolKind Pooling) : LayerSpec(Header)
{
    public override LayerKind Kind => LayerKind.Pool;
}

internal sealed record PoolPlan(ShapedLayer Layer, BufferRef In, BufferRef? DIn, BufferRef Out, BufferRef? DOut)
    : LayerPlan(Layer, In, DIn, Out, DOut);

internal sealed class PoolLayer : LayerDefinition<PoolSpec, PoolPlan>
{
    public override LayerKind Kind => LayerKind.Pool;

    public override string AttributeName => "Dsl.PoolAttribute";

    public override LayerSpec Parse(AttributeReader a) => new PoolSpec(a.Header, (PoolKind)a.Int("kind", 0));

    protected override void Check(PoolSpec spec, OptionChecks checks)
    {
        if (!System.Enum.IsDefined(typeof(PoolKind), spec.Pooling)) checks.Invalid("kind", $"{(int)spec.Pooling} is not a known PoolKind (First, Last, Mean or Max)");
    }

    protected override ShapedLayer Shape(PoolSpec spec, ShapeContext c)
    {
        c.RequireSequence(spec);
        c.VectorReason = $"one vector per sequence ([Pool(PoolKind.{spec.Pooling})])";
        return new ShapedLayer(spec, c.Name, c.InWidth, c.InWidth, c.InIsSequence, false, StepBlocker: "pools the whole sequence into one vector");
    }

    protected override string Describe(ShapedLayer layer, PoolSpec spec, ShapedModel model, int index) =>
        $"new global::Dsl.PoolInfo({Literal(layer.Name)}, {layer.OutWidth}, global::Dsl.PoolKind.{spec.Pooling})";

    protected override PoolPlan Lower(ShapedLayer layer, PoolSpec spec, LowerContext c)
    {
        int w = layer.OutWidth;
        var (output, dOutput) = c.Output(spec.Pooling switch
        {
            PoolKind.First => "the first step of each sequence",
            PoolKind.Last => "the last step of each sequence (of its length)",
            PoolKind.Max => "the largest value of each feature over each sequence's steps (of its length)",
            _ => "the mean of each sequence's steps (of its length)",
        });
        // max pooling keeps the step each maximum came from, for the gradient (a float: exact below 2^24 steps)
        BufferRef? from = spec.Pooling == PoolKind.Max ? c.Own("argmax", w, Rows.Batch1, BufferUse.Forward, $"the step each maximum came from [B, {w}]") : null;
        Operand steps = ScalarOperand.Of(new Dim(1, Steps: 1)), batch = ScalarOperand.Of(Dim.B), width = ScalarOperand.Of(w);
        Dim rows = Dim.B * w;
        var pass = new PassBuilder().Doc($"// {layer.Name}: [T, B, {w}] -> [B, {w}], {spec.Pooling}");
        switch (spec.Pooling)
        {
            case PoolKind.First:
                pass.Add(new CopyOp(((Operand)c.In).Slice(0, rows), output, "step 0's rows"));
                break;
            case PoolKind.Last:
                pass.Add(new KernelOp(Kernels.Layout, "GatherLastStep", c.In, output, batch, steps, width, ScalarOperand.Of(1), new LengthsOperand()));
                break;
            case PoolKind.Max:
                pass.Add(new KernelOp(Kernels.Layout, "MaxSteps", c.In, output, from!, batch, steps, width, new LengthsOperand()));
                break;
            default:
                pass.Add(new KernelOp(Kernels.Layout, "MeanSteps", c.In, output, batch, steps, width, new LengthsOperand()));
                break;
        }
        pass.Backward().Doc($"// {layer.Name} backward: dx is dout where the vector was read, zero elsewhere");
        if (c.DIn is not null)
        {
            switch (spec.Pooling)
            {
                case PoolKind.First:
                    pass.Add(new ClearOp(c.DIn));
                    pass.Add(new CopyOp(dOutput, ((Operand)c.DIn).Slice(0, rows)));
                    break;
                case PoolKind.Last:
                    pass.Add(new KernelOp(Kernels.Layout, "ScatterLastStep", dOutput, c.DIn, batch, steps, width, ScalarOperand.Of(1), new LengthsOperand()));
                    break;
                case PoolKind.Max:
                    pass.Add(new KernelOp(Kernels.Layout, "MaxStepsBackward", dOutput, c.DIn, from!, batch, steps, width));
                    break;
                default:
                    pass.Add(new KernelOp(Kernels.Layout, "MeanStepsBackward", dOutput, c.DIn, batch, steps, width, new LengthsOperand()));
                    break;
            }
        }
        return new PoolPlan(layer, c.In, c.DIn, output, dOutput) { Passes = pass.Build() };
    }
}
