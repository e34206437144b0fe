using Dsl.Generator.Lowering;

namespace Dsl.Generator.Layers;

/// <summary>
/// A norm's constant row where it learns no scale or shift: the row the kernels read (set at the start of each forward pass:
/// the workspace's memory is not promised to hold it) and the scratch its gradient goes to, which nothing reads (cleared
/// before each backward pass).
/// </summary>
internal sealed record NormConstants(BufferRef Row, BufferRef Gradient, float Value)
{
    public static NormConstants Of(LowerContext c, string name, string what, int width, float value) => new(
        c.Own(name, width, Rows.One, BufferUse.Forward, value == 0f ? $"zeros: no {what} [{width}]" : $"ones: no {what} [{width}]"),
        c.Own(what + "_gradient", width, Rows.One, BufferUse.Training, $"the gradient of the {(value == 0f ? "zero" : "unit")} {what}, never read [{width}]"), value);

    public void Set(PassBuilder pass) => pass.Add(Value == 0f ? new ClearOp(Row) : new FillOp(Row, Value));

    public void ClearGradient(PassBuilder pass) => pass.Add(new ClearOp(Gradient));
}
