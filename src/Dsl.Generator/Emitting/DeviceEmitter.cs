using System.Collections.Generic;
using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Emitting;

/// <summary>
/// The device backend (when the project references Dsl.Gpu): a second file per model with <c>To(Device)</c> and a nested
/// <c>DeviceRun</c> whose layer and cell methods are the host's, written by the same walkers and translated by
/// <see cref="DeviceDialect"/> onto Dsl.Gpu's kernels of the same names over device memory. The host entry points stay
/// as they are: their passes hand over to the device run at the pass boundary, copying what the host writes for a pass
/// (inputs, initial states, the loss's gradient) over and what it reads back (outputs, initial-state gradients).
/// </summary>
internal static class DeviceEmitter
{
    /// <summary>Why the model cannot run on a device (the first layer that cannot, and why), or null when it can.</summary>
    public static string? Blocker(ModelPlan plan)
    {
        foreach (LayerPlan layer in plan.Layers)
        {
            // (a layer's Setup and Encode ops run on the host: in the workspace's constructor, and on what an encoder's Encode brought back)
            foreach (Op op in layer.Passes.Forward.Concat(layer.Passes.Backward))
            {
                if (DeviceDialect.Blocker(op) is { } why) return $"layer '{layer.Name}' ({layer.Layer.Kind}) {why}";
            }
        }
        return null;
    }

    /// <summary>The device members of a model whose declaration has errors: there, as on a valid one, each throwing.</summary>
    public static string? EmitInvalid(ShapedModel model)
    {
        if (!model.Spec.CanGenerate) return null;
        string fail = ModelEmitter.ThrowDeclarationErrors(model);
        return GeneratedFile.WritePart(model.Spec, w =>
        {
            w.Open($"partial class {model.Spec.Name} : global::Dsl.Gpu.IDeviceModel");
            w.Line("/// <summary>Not generated: the declaration has errors.</summary>");
            w.Line($"public global::Dsl.Gpu.Device? Device => {fail}");
            w.Line($"public void To(global::Dsl.Gpu.Device device) => {fail}");
            w.Line($"public void ToHost() => {fail}");
            w.Close();
        });
    }

    /// <summary>The device file of a valid model.</summary>
    public static string? Emit(ShapedModel model, ModelPlan plan)
    {
        if (!model.Spec.CanGenerate) return null;
        string name = model.Spec.Name;
        string? blocker = Blocker(plan);
        return GeneratedFile.WritePart(model.Spec, w =>
        {
            w.Open($"partial class {name} : global::Dsl.Gpu.IDeviceModel");
            if (blocker is null) w.Line("private DeviceRun? _deviceRun;");
            w.Line();
            w.Line("/// <summary>The device the model computes on, or null on the host.</summary>");
            w.Line(blocker is null ? "public global::Dsl.Gpu.Device? Device => _deviceRun?.Device;" : "public global::Dsl.Gpu.Device? Device => null;");
            w.Line();
            w.Line("/// <summary>Moves the model to <paramref name=\"device\"/>: parameters, gradients and workspaces live there from now on, and Forward, Backward,");
            w.Line("/// Loss and Step run there; reading a parameter's Value or Grad on the host synchronises. Optimisers and clipping over its");
            w.Line("/// parameters run on the device too.</summary>");
            w.Line("/// <exception cref=\"global::System.NotSupportedException\">A layer of the model has no device kernels (the message names it).</exception>");
            w.Open("public void To(global::Dsl.Gpu.Device device)");
            w.Line("global::System.ArgumentNullException.ThrowIfNull(device);");
            if (blocker is not null)
                w.Line($"throw new global::System.NotSupportedException(\"Model '{name}' cannot run on a device: {Escape(blocker)}; it runs on the host.\");");
            else
            {
                w.Line("if (_deviceRun is { } current && ReferenceEquals(current.Device, device)) return;");
                // the model runs on the host until the new run exists: a move that fails (the device's memory spent) leaves
                // it there, every parameter brought back, not pointing at a run whose memory was released
                w.Line("DeviceRun? previous = _deviceRun;");
                w.Line("_deviceRun = null;");
                w.Line("previous?.Detach();");
                w.Line("_deviceRun = new DeviceRun(this, device);");
                w.Line("device.Hold(this); // disposing the device brings the model home first");
            }
            w.Close();
            w.Line();
            w.Line("/// <summary>Brings the parameters back to the host, which computes from now on (device memory is released).</summary>");
            w.Open("public void ToHost()");
            if (blocker is null)
            {
                w.Line("_deviceRun?.Detach();");
                w.Line("_deviceRun = null;");
            }
            w.Close();
            if (blocker is null)
            {
                w.Line();
                EmitRun(w, plan);
            }
            w.Close();
        }, "CS0169, CS0414, CS0649 // a member the model's layers do not need stays unused");
    }

    /// <summary>
    /// The workspace views the layers' Encode ops read (the last layer's output among them only when an op reads it: the
    /// outputs themselves stay on the device); null when an op is of a kind this does not look into (the whole workspace then
    /// comes back).
    /// </summary>
    private static List<BufferRef>? EncodeReads(ModelPlan plan)
    {
        var found = new List<BufferRef>();
        foreach (LayerPlan layer in plan.Layers)
            foreach (Op op in layer.Encode)
                if (!Collect(op, found)) return null;
        return found.Where(b => b.IsView).Distinct().ToList();
    }

    private static bool Collect(Op op, List<BufferRef> into) => op switch
    {
        KernelOp k => k.Arguments.All(a => Collect(a, into)),
        CopyOp c => Collect(c.From, into) & Collect(c.To, into),
        AddOp a => Collect(a.A, into) & Collect(a.B, into) & Collect(a.Into, into),
        MultiplyOp m => Collect(m.A, into) & Collect(m.B, into) & Collect(m.Into, into),
        ClearOp c => Collect(c.X, into),
        FillOp f => Collect(f.X, into),
        WhenOp w => w.Body.Concat(w.Otherwise).All(o => Collect(o, into)),
        CommentOp => true,
        _ => false,
    };

    private static bool Collect(Operand o, List<BufferRef> into)
    {
        switch (o)
        {
            case BufferOperand b:
                into.Add(b.Buffer);
                return true;
            case SliceOperand s: return Collect(s.Of, into);
            case TrainingOnlyOperand t: return Collect(t.Of, into);
            case WeightsOperand w: return Collect(w.Of, into);
            case NamedOperand n: return Collect(n.Of, into);
            default: return true;
        }
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");

    private static void EmitRun(SourceWriter w, ModelPlan plan)
    {
        ShapedModel m = plan.Model;
        string host = $"{m.Spec.Name}.Workspace";
        LayerPlan last = plan.Last;
        w.Line("/// <summary>The model on a device: its parameters' device copies, its workspaces' device memory, and its passes over them.</summary>");
        w.Open("private sealed class DeviceRun");
        w.Line("public readonly global::Dsl.Gpu.Device Device;");
        w.Line("private readonly global::Dsl.Rng _dropoutRng; // the model's: dropout masks are drawn from the same stream as on the host");
        foreach (ParamRef p in plan.Parameters) w.Line($"private readonly global::Dsl.Gpu.DeviceParameter {p.Field}; // {p.Name} {p.Dims}");
        w.Line("private readonly global::System.Collections.Generic.List<Workspace> _workspaces = new();");
        w.Line($"private readonly {m.Spec.Name} _model;");
        w.Line();
        w.Open($"public DeviceRun({m.Spec.Name} model, global::Dsl.Gpu.Device device)");
        w.Line("Device = device;");
        w.Line("_model = model;");
        w.Line("_dropoutRng = model._dropoutRng;");
        w.Open("try");
        foreach (ParamRef p in plan.Parameters) w.Line($"{p.Field} = global::Dsl.Gpu.DeviceParameter.On(model.{p.Field}, device);");
        w.Close();
        w.Open("catch");
        w.Line("// the parameters moved before the one that failed come back to the host, their device memory released");
        foreach (ParamRef p in plan.Parameters) w.Line($"{p.Field}?.Detach();");
        w.Line("throw;");
        w.Close();
        w.Close();
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// The device memory of a host workspace (the same layout, one allocation). The device keeps those of the workspaces the");
        w.Line("/// host keeps (its pass's and its step's): one the host let go is released (an encoder's outputs a record still stands");
        w.Line("/// for go to the host first).");
        w.Line("/// </summary>");
        w.Open($"private Workspace For({host} host)");
        w.Line("foreach (Workspace cached in _workspaces) if (ReferenceEquals(cached.Host, host)) return cached;");
        w.Open("for (int i = _workspaces.Count - 1; i >= 0; i--)");
        string kept = "ReferenceEquals(_workspaces[i].Host, _model._workspace)" + (m.CanStep ? " || ReferenceEquals(_workspaces[i].Host, _model._stepWorkspace)" : "");
        w.Line($"if ({kept}) continue;");
        w.Line("_workspaces[i].Dispose();");
        w.Line("_workspaces.RemoveAt(i);");
        w.Close();
        w.Line("var created = new Workspace(host, Device);");
        w.Line("_workspaces.Add(created);");
        w.Line("return created;");
        w.Close();
        w.Line();
        w.Line("/// <summary>The host's forward pass on the device: what the host wrote for it goes over, the output comes back (unless a loss on the device reads it there).</summary>");
        w.Open($"public void ForwardPass({host} host, bool training, State? state, bool outputToHost)");
        w.Line("using global::Dsl.Gpu.Device.PassScope pass = Device.Pass(); // one pass at a time on the device");
        w.Line("Workspace ws = For(host);");
        w.Line("ws.GradientOnDevice = false; // a loss of an earlier pass that failed after writing it (a non-finite loss) does not count");
        if (m.OutputIsSequence) w.Line("ws.Resident.Drop(host.Encoded); // an encoder's record of its last pass is out of date from now on");
        if (plan.States.Count > 0)
        {
            w.Open("if (host.HasInitialState)");
            foreach (StateRef s in plan.States) w.Line($"ws.{s.Initial.Name}.CopyFrom(host.{s.Initial.Name});");
            w.Close();
        }
        if (!m.TakesTokens) w.Line($"ws.{plan.Layers[0].Out.Name}.CopyFrom(host.{plan.Layers[0].Out.Name}); // the input features");
        if (m.HasCrossAttention) w.Line("(ws.Memory ??= new global::Dsl.Gpu.DeviceEncoderOutput(Device)).Load(host.Memory!); // the encoder's outputs cross-attention reads");
        var body = new SourceWriter();
        foreach (LayerPlan l in plan.Layers.Where(l => l.HasPass)) body.Line($"{l.Name}_forward(ws, training, state);");
        body.Line($"if (outputToHost) ws.{last.Out.Name}.CopyTo(host.{last.Out.Name});");
        foreach (LayerPlan l in plan.Layers)
            if (l.AttentionWeights is { } weights) body.Line($"ws.{weights.Weights.Name}.CopyTo(host.{weights.Weights.Name}); // the attention weights the model exposes");
        w.Lines(DeviceDialect.Translate(body.ToString()).TrimEnd('\n'));
        w.Close();
        w.Line();
        string gradient = $"training ? ws.{last.Dy.Name} : default";
        w.Line("/// <summary>The class loss on the device, from the logits the pass left there; its gradient stays there for the backward pass.</summary>");
        w.Open($"public float SoftmaxCrossEntropy({host} host, bool training, float labelSmoothing)");
        w.Line("using global::Dsl.Gpu.Device.PassScope pass = Device.Pass(); // one pass at a time on the device");
        w.Line("Workspace ws = For(host);");
        w.Line($"float loss = global::Dsl.Gpu.DeviceLosses.SoftmaxCrossEntropy(ws.{last.Out.Name}, host.{plan.Targets.Name}, {m.OutputWidth}, {gradient}, \"targets\", labelSmoothing);");
        w.Line("ws.GradientOnDevice = training;");
        w.Line("return loss;");
        w.Close();
        w.Line();
        w.Line("/// <summary>The mean squared error on the device, from the output the pass left there (the targets go over); its gradient stays there for the backward pass.</summary>");
        w.Open($"public float MeanSquaredError({host} host, bool training, int B, int T)");
        w.Line("using global::Dsl.Gpu.Device.PassScope pass = Device.Pass(); // one pass at a time on the device");
        w.Line("Workspace ws = For(host);");
        string values = $"host.{plan.TargetValues.Name}";
        w.Line(m.OutputIsSequence
            ? $"float loss = host.HasLengths ? global::Dsl.Gpu.DeviceLosses.MeanSquaredError(ws.{last.Out.Name}, {values}, {gradient}, host.lengths, B, T, {m.OutputWidth}) : global::Dsl.Gpu.DeviceLosses.MeanSquaredError(ws.{last.Out.Name}, {values}, {gradient});"
            : $"float loss = global::Dsl.Gpu.DeviceLosses.MeanSquaredError(ws.{last.Out.Name}, {values}, {gradient});");
        w.Line("ws.GradientOnDevice = training;");
        w.Line("return loss;");
        w.Close();
        w.Line();
        w.Line("/// <summary>The host's backward pass on the device, from the output's gradient the loss wrote (on the host, or already on the device).</summary>");
        w.Open($"public void BackwardPass({host} host)");
        w.Line("using global::Dsl.Gpu.Device.PassScope pass = Device.Pass(); // one pass at a time on the device");
        w.Line("Workspace ws = For(host);");
        body = new SourceWriter();
        body.Line(m.OutputIsSequence
            ? $"if (!ws.GradientOnDevice && !ws.Resident.HoldsGradientOf(host.Encoded)) ws.{last.Dy.Name}.CopyFrom(host.{last.Dy.Name}); // (a decoder on the device added to it in place)"
            : $"if (!ws.GradientOnDevice) ws.{last.Dy.Name}.CopyFrom(host.{last.Dy.Name});");
        body.Line("ws.GradientOnDevice = false;");
        if (m.HasCrossAttention) body.Line("ws.Memory!.GradientToDevice(); // the encoder's outputs' gradient so far: cross-attention adds to it");
        if (plan.Finals.Count > 0)
        {
            body.Open("if (host.InjectFinal)");
            foreach (FinalStateRef f in plan.Finals) body.Line($"ws.{f.Grad.Name}.CopyFrom(host.{f.Grad.Name}); // the final state's gradient, from the decoder");
            body.Close();
        }
        ModelEmitter.WriteBackwardCalls(body, plan);
        if (plan.States.Count > 0)
        {
            body.Open("if (host.HasInitialState)");
            foreach (StateRef s in plan.States) body.Line($"ws.{s.InitialGrad.Name}.CopyTo(host.{s.InitialGrad.Name}); // d(loss)/d(initial state), for an encoder behind");
            body.Close();
        }
        if (m.HasCrossAttention) body.Line("ws.Memory!.GradientFromDevice(); // for the encoder's backward pass");
        w.Lines(DeviceDialect.Translate(body.ToString()).TrimEnd('\n'));
        w.Close();
        w.Line();
        // An encoder's Encode gathers its final states on the host from what its forward pass left: those buffers come back
        // (the outputs stay on the device). The backward pass takes the outputs' and final states' gradients itself.
        if (m.OutputIsSequence)
        {
            w.Line("/// <summary>After an Encode on the device: the outputs and their gradient stay there, where a decoder on the device reads them.</summary>");
            w.Open($"public void Keep({host} host)");
            w.Line("using global::Dsl.Gpu.Device.PassScope pass = Device.Pass();");
            w.Line("For(host).Resident.Keep(host.Encoded!);");
            w.Close();
            w.Line();
        }
        w.Line("/// <summary>What an encoder's host-side Encode reads (its final states' sources) back on the host; the outputs stay on the device.</summary>");
        w.Open($"public void ToHost({host} host)");
        w.Line("using global::Dsl.Gpu.Device.PassScope pass = Device.Pass(); // one pass at a time on the device");
        if (EncodeReads(plan) is { } reads)
        {
            if (reads.Count > 0) w.Line("Workspace ws = For(host);");
            foreach (BufferRef b in reads) w.Line($"ws.{b.Name}.CopyTo(host.{b.Name});");
        }
        else w.Line("For(host).Buffers.Span.Slice(0, host.Floats.Length).CopyTo(global::System.MemoryExtensions.AsSpan(host.Floats));");
        w.Close();
        w.Line();
        w.Line("/// <summary>The parameters back to the host; the device memory released.</summary>");
        w.Open("public void Detach()");
        w.Line("using global::Dsl.Gpu.Device.PassScope pass = Device.Pass(); // one pass at a time on the device");
        foreach (ParamRef p in plan.Parameters) w.Line($"{p.Field}.Detach();");
        w.Line("foreach (Workspace cached in _workspaces) cached.Dispose();");
        w.Line("_workspaces.Clear();");
        w.Close();
        w.Line();
        // the layer and cell methods: the host's, onto the device's kernels
        var methods = new SourceWriter();
        var context = new EmitContext(methods, plan);
        foreach (LayerPlan layer in plan.Layers.Where(l => l.HasPass)) ModelEmitter.EmitLayer(layer, context);
        foreach (LayerPlan layer in plan.Layers) layer.EmitHelpers(context);
        w.Lines(DeviceDialect.Translate(methods.ToString()).TrimEnd('\n'));
        w.Line();
        EmitWorkspace(w, plan, host);
        w.Close();
    }

    /// <summary>The device workspace: the host workspace's sizes and flags, its float buffers as device spans at the same offsets.</summary>
    private static void EmitWorkspace(SourceWriter w, ModelPlan plan, string host)
    {
        w.Line("/// <summary>A host workspace's buffers in device memory, at the same offsets; ints and standalone arrays stay on the host.</summary>");
        w.Open("private sealed class Workspace : global::System.IDisposable");
        w.Line($"public readonly {host} Host;");
        w.Line("public readonly global::Dsl.Gpu.DeviceMemory Buffers;");
        w.Line("public bool GradientOnDevice; // the loss wrote the output's gradient on the device: the backward pass starts from it");
        if (plan.Model.HasCrossAttention) w.Line("public global::Dsl.Gpu.DeviceEncoderOutput? Memory; // the encoder's outputs of the pass, as the host workspace's Memory");
        if (plan.Model.OutputIsSequence) w.Line("public readonly global::Dsl.Gpu.ResidentEncoderOutput Resident; // the outputs and their gradient after an Encode, as an encoder's");
        w.Open($"public Workspace({host} host, global::Dsl.Gpu.Device device)");
        w.Line("Host = host;");
        var standalone = plan.Buffers.Where(b => !b.IsView && !b.IsInt).ToList();
        string extra = string.Concat(standalone.Select(b => $" + (long)host.{b.Name}.Length"));
        w.Line($"Buffers = new global::Dsl.Gpu.DeviceMemory(device, host.Floats.Length{extra}); // the views, then the standalone arrays");
        w.Line("Buffers.Span.CopyFrom(host.Floats); // what the host workspace was made with (a table of positional encodings)");
        LayerPlan last = plan.Last;
        if (plan.Model.OutputIsSequence)
            w.Line($"Resident = new global::Dsl.Gpu.ResidentEncoderOutput({last.Out.Name}, {last.Dy.Name});");
        w.Close();
        w.Line("public int B => Host.B;");
        w.Line("public int T => Host.T;");
        w.Line("public int S => Host.S;");
        w.Line("public bool Training => Host.Training;");
        w.Line("public bool HasLengths => Host.HasLengths;");
        if (plan.FoldVocab > 0) w.Line("public bool FoldsTokens => Host.FoldsTokens;");
        if (plan.States.Count > 0) w.Line("public bool HasInitialState => Host.HasInitialState;");
        if (plan.Finals.Count > 0) w.Line("public bool InjectFinal => Host.InjectFinal;");
        if (ModelEmitter.KeepsStartPosition(plan)) w.Line("public int StartPosition => Host.StartPosition; // set by the host's forward pass");
        if (plan.AuxiliaryLoss) w.Line("public ref float AuxiliaryLoss => ref Host.AuxiliaryLoss; // the layers' terms of the loss, kept on the host");
        w.Line("public int[] lengths => Host.lengths;");
        string at = "Host.Floats.Length";
        foreach (BufferRef b in plan.Buffers)
        {
            if (b.IsView) w.Line($"public global::Dsl.Gpu.DeviceSpan {b.Name} => Buffers.Span.Slice(Host.Origin + Host.{b.Name}__at, Host.{b.Name}__length);");
            else if (b.IsInt) w.Line($"public int[] {b.Name} => Host.{b.Name};");
            else
            {
                // a standalone array (an encoder's final state or its gradient): device memory after the views
                w.Line($"public global::Dsl.Gpu.DeviceSpan {b.Name} => Buffers.Span.Slice({at}, Host.{b.Name}.Length);");
                at += $" + Host.{b.Name}.Length";
            }
        }
        w.Open("public void Dispose()");
        if (plan.Model.OutputIsSequence) w.Line("Resident.Release(Host.Encoded); // what only the device holds of an Encode goes to the host first");
        w.Line("// the device held the workspace's last pass: the host's copy catches up, for a backward pass that comes after the");
        w.Line("// model left the device, or after this workspace was let go");
        w.Line("Buffers.Span.Slice(0, Host.Floats.Length).CopyTo(global::System.MemoryExtensions.AsSpan(Host.Floats));");
        w.Line("Buffers.Dispose();");
        if (plan.Model.HasCrossAttention) w.Line("Memory?.Dispose();");
        w.Close();
        w.Close();
    }
}
