using System.Linq;
using Dsl.Generator.Helpers;
using Dsl.Generator.Layers;
using Dsl.Generator.Lowering;
using Dsl.Generator.Parsing;
using Dsl.Generator.Shapes;

namespace Dsl.Generator.Emitting;

/// <summary>
/// Writes the C# of a model: the public API of DESIGN §2 and, per layer, a forward and a backward
/// method in the manner of llm.c (shape comments, saved activations named for what they hold).
/// Everything is resolved in the plan; this class only formats.
/// </summary>
internal static class ModelEmitter
{
    private const string T = Names.T;
    private const string Span = Names.Span;
    private const string Layout = Names.Layout;
    private const string Check = Names.Check;
    private const string L = Names.Lengths;

    /// <summary>The source of a model, or null when nothing may be generated (the class is not partial, or generic).</summary>
    /// <param name="device">The project references Dsl.Gpu: the passes hand over to the device run (<see cref="DeviceEmitter"/>) once the model was moved to a device.</param>
    public static string? Emit(ShapedModel model, ModelPlan? plan, bool device = false)
    {
        ModelSpec spec = model.Spec;
        if (!spec.CanGenerate) return null;
        return GeneratedFile.Write(spec, w =>
        {
            w.Open($"partial class {spec.Name} : {Interfaces(model)}");
            EmitConstants(w, model);
            if (plan is null) EmitInvalid(w, model);
            else EmitValid(w, plan, device && DeviceEmitter.Blocker(plan) is null);
            w.Close();
        }, "CS0169, CS0414, CS0649 // a member the model's layers do not need stays unused");
    }

    private static void EmitConstants(SourceWriter w, ShapedModel model)
    {
        w.Line(model.TakesTokens
            ? "/// <summary>Vocabulary size: token ids are in [0, InputWidth).</summary>"
            : "/// <summary>Features per step of the input.</summary>");
        w.Line($"public const int InputWidth = {model.InputWidth};");
        if (model.TakesTokens)
        {
            w.Line("/// <summary>Number of token ids the embedding knows.</summary>");
            w.Line($"public const int VocabularySize = {model.Vocabulary};");
        }
        w.Line("/// <summary>Width of the last layer's output.</summary>");
        w.Line($"public const int OutputWidth = {model.OutputWidth};");
        w.Line("/// <summary>True when the output is a sequence [batch, steps, OutputWidth]; false for many-to-one [batch, OutputWidth].</summary>");
        w.Line($"public const bool ReturnsSequences = {(model.OutputIsSequence ? "true" : "false")};");
        w.Line("/// <summary>True when the model can advance one step at a time (no bidirectional layer, no non-causal self-attention).</summary>");
        w.Line($"public const bool CanStep = {(model.CanStep ? "true" : "false")};");
        w.Line();
    }

    private static string NotStep(ShapedModel m) =>
        $"throw new global::System.NotSupportedException(\"Model '{m.Spec.Name}' cannot carry a state from step to step: {(m.StepBlocker is { } b ? $"layer '{b.Layer.Name}' {b.Why}" : "it cannot step")}.\");";

    private static string ModelInterface(ShapedModel m) => m.TakesTokens ? "global::Dsl.IModel<int>" : "global::Dsl.IModel<float>";

    /// <summary>The interfaces the class implements: IModel, and IEncoder when its output is a sequence.</summary>
    private static string Interfaces(ShapedModel m) =>
        ModelInterface(m) + (m.OutputIsSequence ? $", global::Dsl.IEncoder<{(m.TakesTokens ? "int" : "float")}>" : "");

    private static string InputType(ShapedModel m) => m.TakesTokens ? $"{T}.ReadOnlyTensorSpan<int>" : $"{T}.ReadOnlyTensorSpan<float>";

    private static string InputName(ShapedModel m) => m.TakesTokens ? "tokens" : "input";

    /// <summary>
    /// The expected dimensions of an input (-1 = free), stored one by one: a constant initialiser (stackalloc int[] { -1, -1, 11 })
    /// allocates on every call in a Debug build of the user's project, and a warm step must allocate nothing in either.
    /// </summary>
    private static void WriteFreeDims(SourceWriter w, int[] dims)
    {
        w.Line($"global::System.Span<int> dims = stackalloc int[{dims.Length}];");
        w.Line(string.Join(" ", dims.Select((d, i) => $"dims[{i}] = {d};")));
    }

    private static string InputDims(ShapedModel m) => m.TakesTokens ? "batch, steps" : $"batch, steps, {m.InputWidth}";

    private static string OutputDims(ShapedModel m) => m.OutputIsSequence ? $"batch, steps, {m.OutputWidth}" : $"batch, {m.OutputWidth}";

    private static string OutputLengths(ShapedModel m) => m.OutputIsSequence ? $"B, T, {m.OutputWidth}" : $"B, {m.OutputWidth}";

    private static string IntTargetDims(ShapedModel m) => m.OutputIsSequence ? "batch, steps" : "batch";

    private static string IntTargetLengths(ShapedModel m) => m.OutputIsSequence ? "B, T" : "B";

    /// <summary>What a valid model is made of, each layer described by its kind (for tools such as the ONNX exporter).</summary>
    private static void EmitArchitecture(SourceWriter w, ShapedModel model)
    {
        w.Line("/// <summary>What the model is made of, layer by layer (for tools such as the ONNX exporter).</summary>");
        w.Line($"public static global::Dsl.ModelArchitecture Architecture {{ get; }} = new(\"{model.Spec.Name}\", {(model.TakesTokens ? "true" : "false")}, new global::Dsl.LayerInfo[]");
        w.Open();
        for (int i = 0; i < model.Layers.Count; i++)
            w.Line(Layers.LayerRegistry.Of(model.Layers[i].Spec).Describe(model.Layers[i], model, i) + ",");
        w.Close(");");
        w.Line();
    }

    /// <summary>
    /// The statement every member of a model with declaration errors is (its own, its device members', a composition's):
    /// it names the diagnostics, or, for a composition whose errors are its parts', says so.
    /// </summary>
    internal static string ThrowDeclarationErrors(ShapedModel m)
    {
        string ids = string.Join(", ", m.Diagnostics.Select(d => d.Id).Distinct());
        return $"throw new global::System.InvalidOperationException(\"Model '{m.Spec.Name}' has declaration errors ({(ids.Length > 0 ? ids : "in its encoder or decoder")}); fix them to generate its code.\");";
    }

    /// <summary>
    /// A model whose declaration has errors: the public surface of a valid one (its interfaces included, so that code which
    /// passes it to a Trainer or a Decoder still compiles and only the DSL diagnostics show), every member throwing.
    /// </summary>
    private static void EmitInvalid(SourceWriter w, ShapedModel m)
    {
        string fail = ThrowDeclarationErrors(m);
        string input = InputType(m), name = InputName(m), model = ModelInterface(m), element = m.TakesTokens ? "int" : "float";
        string ints = $"{T}.ReadOnlyTensorSpan<int>", floats = $"{T}.ReadOnlyTensorSpan<float>", tensor = $"{T}.Tensor<float>", destination = $"{T}.TensorSpan<float> destination";
        w.Line("/// <summary>Not generated: the declaration has errors.</summary>");
        w.Line($"public {m.Spec.Name}(int seed = 0) => {fail}");
        w.Line($"public static global::Dsl.ModelArchitecture Architecture => {fail}");
        w.Line($"public global::Dsl.ParameterSet Parameters => {fail}");
        w.Line($"public float LabelSmoothing {{ get => {fail.TrimEnd(';')}; set => {fail} }}");
        foreach (string extra in new[] { "", $", {L} lengths", ", State state" })
        {
            w.Line($"public {tensor} Forward({input} {name}{extra}) => {fail}");
            w.Line($"public void Forward({input} {name}{extra}, {destination}) => {fail}");
            foreach (string targets in new[] { ints, floats })
            {
                w.Line($"public float Backward({input} {name}, {targets} targets{extra}) => {fail}");
                if (extra != ", State state") w.Line($"public float Loss({input} {name}, {targets} targets{extra}) => {fail}");
            }
        }
        if (m.Spec.Layers.Any(l => l.Kind == LayerKind.Attention)) w.Line($"public {tensor} AttentionWeights(string? layer = null) => {fail}");
        w.Line($"public State CreateState(int batch = 1) => {fail}");
        w.Line($"public {tensor} Step({input} {name}, State state) => {fail}");
        w.Line($"public void Step({input} {name}, State state, {destination}) => {fail}");
        w.Line($"int global::Dsl.IModel.InputWidth => InputWidth;");
        w.Line($"int global::Dsl.IModel.OutputWidth => OutputWidth;");
        w.Line($"bool global::Dsl.IModel.ReturnsSequences => ReturnsSequences;");
        w.Line($"global::Dsl.Rng global::Dsl.IModel.DropoutRandom => {fail}");
        w.Line($"global::Dsl.ModelArchitecture global::Dsl.IModel.Architecture => {fail}");
        w.Line($"global::Dsl.IModelState {model}.CreateState(int batch) => {fail}");
        w.Line($"{tensor} {model}.Forward({input} {name}, global::Dsl.IModelState state) => {fail}");
        w.Line($"void {model}.Forward({input} {name}, global::Dsl.IModelState state, {destination}) => {fail}");
        w.Line($"float {model}.Backward({input} {name}, {ints} targets, global::Dsl.IModelState state) => {fail}");
        w.Line($"float {model}.Backward({input} {name}, {floats} targets, global::Dsl.IModelState state) => {fail}");
        w.Line($"{tensor} {model}.Step({input} {name}, global::Dsl.IModelState state) => {fail}");
        w.Line($"void {model}.Step({input} {name}, global::Dsl.IModelState state, {destination}) => {fail}");
        if (m.OutputIsSequence)
        {
            w.Line($"global::Dsl.EncoderOutput global::Dsl.IEncoder<{element}>.Encode({input} source, {L} lengths, bool training) => {fail}");
            w.Line($"void global::Dsl.IEncoder<{element}>.BackwardFromEncoded(global::Dsl.EncoderOutput encoded) => {fail}");
        }
        w.Open("public sealed class State : global::Dsl.IDecoderState");
        w.Line($"public State(int batch) => {fail}");
        w.Line($"public int Batch => {fail}");
        w.Line($"public void Reset() => {fail}");
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<global::Dsl.NamedTensor> Tensors => {fail}");
        w.Line($"public bool KeepGradients {{ get => {fail.TrimEnd(';')}; set => {fail} }}");
        w.Line($"public global::System.Collections.Generic.IReadOnlyList<global::Dsl.NamedTensor> Gradients => {fail}");
        w.Line($"public bool NeedsMemory => {fail}");
        w.Line($"public global::Dsl.EncoderOutput? Memory => {fail}");
        w.Line($"public void Attend(global::Dsl.EncoderOutput encoded) => {fail}");
        w.Line($"public void CopyFrom(global::Dsl.IModelState source) => {fail}");
        w.Line($"public void CopyRowsFrom(global::Dsl.IModelState source, global::System.ReadOnlySpan<int> rows) => {fail}");
        w.Close();
    }

    private static void EmitValid(SourceWriter w, ModelPlan plan, bool device)
    {
        EmitArchitecture(w, plan.Model);
        EmitFieldsAndConstructor(w, plan);
        EmitPublicApi(w, plan, device);
        EmitAttentionWeights(w, plan);
        EmitEncoder(w, plan, device);
        EmitState(w, plan);
        EmitWorkspace(w, plan);
        EmitPasses(w, plan, device);
        var context = new EmitContext(w, plan);
        foreach (LayerPlan layer in plan.Layers.Where(l => l.HasPass)) EmitLayer(layer, context);
        foreach (LayerPlan layer in plan.Layers) layer.EmitHelpers(context);
    }

    private static void EmitFieldsAndConstructor(SourceWriter w, ModelPlan plan)
    {
        ShapedModel m = plan.Model;
        foreach (ParamRef p in plan.Parameters)
            w.Line($"private readonly global::Dsl.Parameter {p.Field}; // {p.Name} {p.Dims}");
        w.Line("private readonly global::Dsl.Rng _dropoutRng;");
        w.Line("private Workspace? _workspace;");
        if (plan.Model.CanStep) w.Line("private Workspace? _stepWorkspace;");
        w.Line();
        w.Line("/// <summary>The model's parameters, named and laid out as PyTorch's state_dict.</summary>");
        w.Line("public global::Dsl.ParameterSet Parameters { get; }");
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// Label smoothing ε of the class loss (PyTorch's <c>CrossEntropyLoss(label_smoothing=ε)</c>), in [0, 1], 0 by default:");
        w.Line("/// Backward and Loss against class ids count each target as 1 − ε on its class and ε / OutputWidth on every class.");
        w.Line("/// </summary>");
        w.Line("public float LabelSmoothing { get => _labelSmoothing; set => _labelSmoothing = global::Dsl.Losses.RequireLabelSmoothing(value, nameof(LabelSmoothing)); }");
        w.Line("private float _labelSmoothing;");
        w.Line();
        w.Line("/// <summary>Creates the model with parameters initialised deterministically from <paramref name=\"seed\"/>.</summary>");
        w.Open($"public {m.Spec.Name}(int seed = 0)");
        foreach (ParamRef p in plan.Parameters)
        {
            int cut = plan.ColumnCuts.FirstOrDefault(c => c.Name == p.Name).Column;
            string held = !plan.WeightsOnly.Contains(p.Name) ? "" : cut > 0 ? $" {{ HoldsOnlyWeights = true, ReadFromColumn = {cut} }}" : " { HoldsOnlyWeights = true }";
            w.Line($"{p.Field} = new global::Dsl.Parameter(\"{p.Name}\", {p.ShapeArguments}){held};");
            ParamInit init = p.Init;
            if (init.Kind != InitKind.Zeros)
            {
                int rows = p.IsVector ? 1 : p.Blocks * p.Rows;
                w.Line($"global::Dsl.Initializers.Apply(global::Dsl.Init.{init.Kind}, {p.Value}, {rows}, {p.Cols}, fanIn: {init.FanIn}, fanOut: {init.FanOut}, blockRows: {init.BlockRows}, bound: {SourceWriter.Float(init.Bound)}, global::Dsl.Rng.ForParameter(seed, \"{p.Name}\"));");
            }
            if (p.Fill is { } fill)
                w.Line($"{p.Value}.Slice({fill.Start}, {fill.Length}).Fill({SourceWriter.Float(fill.Value)}); // {fill.Why}");
        }
        string tied = plan.Tied.Count == 0 ? ""
            : ", new global::System.Collections.Generic.Dictionary<string, string> { " + string.Join(", ", plan.Tied.Select(t => $"[\"{t.Name}\"] = \"{t.Target.Name}\"")) + " }";
        w.Line($"Parameters = new global::Dsl.ParameterSet(new global::Dsl.Parameter[] {{ {string.Join(", ", plan.Parameters.Select(p => p.Field))} }}{tied});");
        w.Line("_dropoutRng = global::Dsl.Rng.ForParameter(seed, \"<dropout>\");");
        w.Close();
        w.Line();
    }

    private static void EmitPublicApi(SourceWriter w, ModelPlan plan, bool device)
    {
        ShapedModel m = plan.Model;
        string input = InputType(m), name = InputName(m);
        string last = plan.Last.Out.Name, lastD = plan.Last.Dy.Name;
        string outRows = m.OutputIsSequence ? "B * T" : "B";
        string C = m.OutputWidth.ToString(System.Globalization.CultureInfo.InvariantCulture);

        string notStep = NotStep(m);
        // Every Forward allocates its result (or takes the caller's buffer) and calls ForwardInto.
        void Forward(string summary, string parameters, string stateArg, string lengthsArg, bool allowed = true)
        {
            w.Line($"/// <summary>{summary}; returns [{OutputDims(m)}].</summary>");
            if (allowed)
            {
                w.Open($"public {T}.Tensor<float> Forward({input} {name}{parameters})");
                w.Line($"var result = NewOutput({name});");
                w.Line($"ForwardInto({name}, {stateArg}, {lengthsArg}, result.AsTensorSpan());");
                w.Line("return result;");
                w.Close();
            }
            else
            {
                w.Line($"public {T}.Tensor<float> Forward({input} {name}{parameters}) => {notStep}");
            }
            w.Line($"/// <summary>{summary}, into <paramref name=\"destination\"/> [{OutputDims(m)}]; allocates nothing once warm.</summary>");
            w.Line(allowed
                ? $"public void Forward({input} {name}{parameters}, {T}.TensorSpan<float> destination) => ForwardInto({name}, {stateArg}, {lengthsArg}, destination);"
                : $"public void Forward({input} {name}{parameters}, {T}.TensorSpan<float> destination) => {notStep}");
            w.Line();
        }
        Forward($"Runs the model in inference mode on [{InputDims(m)}]", "", "null", "default");
        Forward("Runs the model on padded sequences of the given <paramref name=\"lengths\"/> [batch] (PyTorch's pack_padded_sequence): padded steps affect nothing; a recurrent or attention layer's outputs there are zero (a Dense after it writes its bias there)",
            $", {L} lengths", "null", "lengths");
        Forward("Runs the model from <paramref name=\"state\"/> (PyTorch's h0, c0) and leaves the final state in it", ", State state", "RequireState(state)", "default", m.CanStep);
        w.Open($"private static {T}.Tensor<float> NewOutput({input} {name})");
        w.Line($"(int B, int T) = ReadInputShape({name});");
        w.Line($"return {T}.Tensor.Create({Check}.NewFloats((long){outRows} * {C}, \"the output\", \"{name}\"), new global::System.IntPtr[] {{ {OutputLengths(m)} }});");
        w.Close();
        w.Line();
        w.Open($"private void ForwardInto({input} {name}, State? state, {L} lengths, {T}.TensorSpan<float> destination)");
        // every check before the workspace is chosen: a call refused leaves the last pass's (its attention weights) as it was
        w.Line($"(int B, int T) = ReadInputShape({name});");
        w.Line($"if (state is not null) {Check}.SameSize(state.Batch, B, \"{name}\", \"batch (the state's batch size)\");");
        w.Line($"{Span} y = {Check}.Destination(destination, \"destination\", \"{OutputDims(m)}\", stackalloc int[] {{ {OutputLengths(m)} }});");
        if (m.HasCrossAttention) w.Line("RequireMemory(state, training: false);");
        ReserveCaches(w, plan, "T");
        w.Line($"Workspace ws = LoadInput({name}, lengths, {SourceSteps(m)}, training: false, out _, out _);");
        w.Line("ForwardPass(ws, training: false, state: state);");
        w.Line(m.OutputIsSequence ? $"{Layout}.ToBatchMajor<float>(ws.{last}, y, B, T, {C});" : $"ws.{last}.CopyTo(y);");
        w.Close();
        w.Line();
        w.Line("private static State RequireState(State state) => state ?? throw new global::System.ArgumentNullException(nameof(state));");
        w.Line();

        foreach (bool intTargets in new[] { true, false })
        {
            string targetType = intTargets ? $"{T}.ReadOnlyTensorSpan<int>" : $"{T}.ReadOnlyTensorSpan<float>";
            string dims = intTargets ? IntTargetDims(m) : OutputDims(m);
            string lengths = intTargets ? IntTargetLengths(m) : OutputLengths(m);
            string core = intTargets ? "ClassLoss" : "ValueLoss";
            string what = intTargets
                ? "mean softmax cross-entropy against class ids (a negative id is ignored)"
                : "mean squared error against float targets";
            w.Line($"/// <summary>Training step: runs forward (dropout active), returns the {what}, targets [{dims}], and accumulates every parameter's gradient (zero them with Parameters.ZeroGrad()).</summary>");
            w.Line($"public float Backward({input} {name}, {targetType} targets) => {core}({name}, targets, training: true, state: null, default);");
            w.Line();
            w.Line($"/// <summary>Training step on padded sequences of the given <paramref name=\"lengths\"/> [batch]: padded steps affect neither outputs, loss nor gradients.</summary>");
            w.Line($"public float Backward({input} {name}, {targetType} targets, {L} lengths) => {core}({name}, targets, training: true, state: null, lengths);");
            w.Line();
            w.Line($"/// <summary>Training step from <paramref name=\"state\"/>, which is a constant (gradients stop at the chunk's border), leaving the final state in it: truncated back-propagation through time.</summary>");
            w.Line(m.CanStep
                ? $"public float Backward({input} {name}, {targetType} targets, State state) => {core}({name}, targets, training: true, state: RequireState(state), default);"
                : $"public float Backward({input} {name}, {targetType} targets, State state) => {notStep}");
            w.Line();
            w.Line($"/// <summary>Evaluates the {what}, targets [{dims}], in inference mode, without gradients.</summary>");
            w.Line($"public float Loss({input} {name}, {targetType} targets) => {core}({name}, targets, training: false, state: null, default);");
            w.Line();
            w.Line($"/// <summary>Evaluates the loss on padded sequences of the given <paramref name=\"lengths\"/> [batch], in inference mode.</summary>");
            w.Line($"public float Loss({input} {name}, {targetType} targets, {L} lengths) => {core}({name}, targets, training: false, state: null, lengths);");
            w.Line();
            w.Open($"private float {core}({input} {name}, {targetType} targets, bool training, State? state, {L} lengths)");
            // every check before the workspace is chosen, as in ForwardInto
            w.Line($"(int B, int T) = ReadInputShape({name});");
            w.Line($"if (state is not null) {Check}.SameSize(state.Batch, B, \"{name}\", \"batch (the state's batch size)\");");
            w.Line($"var targetValues = {Check}.Shape(targets, \"targets\", \"{dims}\", stackalloc int[] {{ {lengths} }});");
            // class ids are checked where the caller put them (the loss sees them time-major, where a position means little)
            if (intTargets) w.Line($"{Check}.ClassIds(targetValues, {C}, \"targets\");");
            if (plan.Caches.Count > 0)
                w.Line($"if (training && state is {{ Position: > 0 }}) throw new global::System.NotSupportedException($\"Model '{plan.Model.Spec.Name}' trains from a fresh state only (its position is {{state.Position}}): back-propagation does not reach the key/value cache of the steps before; train on whole sequences.\");");
            if (m.HasCrossAttention) w.Line("RequireMemory(state, training);");
            ReserveCaches(w, plan, "T");
            w.Line($"Workspace ws = LoadInput({name}, lengths, {SourceSteps(m)}, training, out _, out _);");
            // on a device, the loss runs there: the output need not come back, nor its gradient go over
            if (plan.AuxiliaryLoss) w.Line("ws.AuxiliaryLoss = 0f; // the layers add their terms in the forward pass");
            w.Line(device ? "ForwardPass(ws, training, state, outputToHost: _deviceRun is null);" : "ForwardPass(ws, training, state);");
            string targetBuffer = intTargets ? plan.Targets.Name : plan.TargetValues.Name;
            int width = intTargets ? 1 : m.OutputWidth;
            w.Line(m.OutputIsSequence
                ? $"{Layout}.ToTimeMajor(targetValues, ws.{targetBuffer}, B, T, {width});"
                : $"targetValues.CopyTo(ws.{targetBuffer});");
            string gradient = $"training ? ws.{lastD} : default";
            if (intTargets)
            {
                if (m.OutputIsSequence) w.Line($"if (ws.HasLengths) {Layout}.IgnorePaddedTargets(ws.{targetBuffer}, ws.lengths, B, T); // padded steps count for nothing");
                w.Line(device
                    ? $"float loss = _deviceRun is not null ? _deviceRun.SoftmaxCrossEntropy(ws, training, _labelSmoothing) : global::Dsl.Losses.SoftmaxCrossEntropy(ws.{last}, ws.{targetBuffer}, {C}, {gradient}, \"targets\", _labelSmoothing);"
                    : $"float loss = global::Dsl.Losses.SoftmaxCrossEntropy(ws.{last}, ws.{targetBuffer}, {C}, {gradient}, \"targets\", _labelSmoothing);");
            }
            else
            {
                string onDevice = device ? "_deviceRun is not null ? _deviceRun.MeanSquaredError(ws, training, B, T) : " : "";
                if (m.OutputIsSequence)
                {
                    w.Line($"float loss = {onDevice}ws.HasLengths");
                    w.Line($"    ? global::Dsl.Losses.MeanSquaredError(ws.{last}, ws.{targetBuffer}, {gradient}, ws.lengths, B, T, {C})");
                    w.Line($"    : global::Dsl.Losses.MeanSquaredError(ws.{last}, ws.{targetBuffer}, {gradient});");
                }
                else w.Line($"float loss = {onDevice}global::Dsl.Losses.MeanSquaredError(ws.{last}, ws.{targetBuffer}, {gradient});");
            }
            if (plan.AuxiliaryLoss) w.Line("loss += ws.AuxiliaryLoss; // the layers' terms (a mixture's load-balancing loss)");
            w.Open("if (training)");
            if (m.CanStep && (plan.States.Count > 0 || plan.Positional))
            {
                // a refused pass leaves the caller's state where it started (the workspace kept a copy of it)
                w.Open("if (state is not null && !float.IsFinite(loss))");
                foreach (StateRef s in plan.States) w.Line($"{s.Initial.Ws}.CopyTo(state.{s.Field});");
                if (plan.Positional) w.Line("state.Position -= ws.T;");
                w.Close();
            }
            w.Line($"{Check}.FiniteLoss(loss, \"{m.Spec.Name}\");");
            w.Line("BackwardPass(ws);");
            if (plan.States.Count > 0)
            {
                w.Line("// the gradient with respect to the state the pass started from, for an encoder behind it");
                w.Open("if (state is { KeepGradients: true })");
                foreach (StateRef s in plan.States) w.Line($"{s.InitialGrad.Ws}.CopyTo(state.{s.Field}_grad);");
                w.Close();
            }
            w.Close();
            w.Line("return loss;");
            w.Close();
            w.Line();
        }

        // Input reading shared by every entry point.
        w.Open($"private static (int B, int T) ReadInputShape({input} {name})");
        WriteFreeDims(w, m.TakesTokens ? [-1, -1] : [-1, -1, m.InputWidth]);
        w.Line($"{Check}.Shape({name}, \"{name}\", \"{InputDims(m)}\", dims);");
        w.Line("return (dims[0], dims[1]);");
        w.Close();
        w.Line();
        w.Line("/// <summary>The workspace of a pass over [B, T] (S source steps): the cached one if it fits, else a new one. An inference");
        w.Line("/// workspace holds no gradient or back-propagation buffer; a training workspace serves inference too.</summary>");
        w.Line("/// <summary>A workspace for [b, t] (and s source steps), in <paramref name=\"reuse\"/> (the replaced workspace's floats) when they are enough; a shape whose buffers outgrow an array fails naming it.</summary>");
        w.Open("private static Workspace NewWorkspace(int b, int t, int s, bool training, float[]? reuse = null)");
        w.Line("try { return new Workspace(b, t, s, training, reuse); }");
        w.Line($"catch (global::System.OverflowException e) {{ throw {Check}.WorkspaceTooLarge(b, t, s, e); }}");
        w.Close();
        w.Line();
        w.Open($"private Workspace LoadInput({input} {name}, {L} lengths, int S, bool training, out int B, out int T)");
        // a training pass needs every weight in float32: refused before anything changes while some are held in bfloat16 or 8 bits
        w.Line($"if (training) Parameters.RequireFloat32(\"A training pass of '{m.Spec.Name}'\");");
        WriteFreeDims(w, m.TakesTokens ? [-1, -1] : [-1, -1, m.InputWidth]);
        w.Line($"var x = {Check}.Shape({name}, \"{name}\", \"{InputDims(m)}\", dims);");
        w.Line("B = dims[0];");
        w.Line("T = dims[1];");
        if (m.TakesTokens) w.Line($"{Check}.Tokens(x, VocabularySize, \"{name}\");");
        w.Line($"if (!lengths.IsEmpty) {Check}.Lengths(lengths, B, T, \"lengths\");");
        // the floats of the workspace replaced, unless it served as an encoder (a decoder's state may still read its outputs)
        // or the model runs on a device (which copies the replaced workspace's last pass back into them when it lets it go)
        string recycled = m.OutputIsSequence ? "_workspace is { Encoded: null } replaced ? replaced.Floats : null" : "_workspace?.Floats";
        if (device) recycled = $"_deviceRun is null ? ({recycled}) : null";
        w.Line($"Workspace ws = _workspace is {{ }} cached && cached.B == B && cached.T == T && cached.S == S && (cached.Training || !training) ? cached : (_workspace = NewWorkspace(B, T, S, training, {recycled}));");
        if (m.OutputIsSequence) w.Line("ws.EncodedAs = 0; // (Encode sets it after its pass)");
        w.Line(m.TakesTokens
            ? $"{Layout}.ToTimeMajor(x, {plan.Tokens!.Ws}, B, T, 1);"
            : $"{Layout}.ToTimeMajor(x, {plan.Layers[0].Out.Ws}, B, T, {m.InputWidth});");
        w.Line("ws.HasLengths = !lengths.IsEmpty;");
        w.Open("if (ws.HasLengths)");
        w.Line("lengths.CopyTo(ws.lengths);");
        if (!m.TakesTokens)
            w.Line($"{Layout}.MaskSteps({plan.Layers[0].Out.Ws}, ws.lengths, B, T, {m.InputWidth}); // what padded steps hold (a NaN too) reaches nothing");
        w.Close();
        w.Line("return ws;");
        w.Close();
        w.Line();
    }

    /// <summary>
    /// A model whose self-attention reads the keys of earlier passes from a cache when it continues a sequence from a state:
    /// its self-attention weights are those of a pass from position 0 only.
    /// </summary>
    private static bool AttendsOverCache(ModelPlan plan) =>
        plan.Caches.Count > 0 && plan.Layers.Any(l => l.AttentionWeights is not null && !l.Layer.IsCrossAttention);

    /// <summary>The workspace keeps where the last pass started: for the attention weights above, and for a backward pass that reads it.</summary>
    internal static bool KeepsStartPosition(ModelPlan plan) => AttendsOverCache(plan) || plan.KeepsPosition;

    /// <summary>Models with attention layers expose the weights of the last pass, for inspection and heatmaps.</summary>
    private static void EmitAttentionWeights(SourceWriter w, ModelPlan plan)
    {
        var layers = plan.Layers.Where(l => l.AttentionWeights is not null).ToList();
        if (layers.Count == 0) return;
        w.Line($"/// <summary>The attention weights [batch, heads, steps (queries), steps (keys)] — [batch, heads, steps] for pooling, [batch, 1, steps, source steps] for cross-attention — of the last Forward, Loss or Backward pass of layer <paramref name=\"layer\"/> (default: the first attention layer); rows sum to 1.</summary>");
        w.Open($"public {T}.Tensor<float> AttentionWeights(string? layer = null)");
        w.Line("Workspace ws = _workspace ?? throw new global::System.InvalidOperationException(\"No forward pass has run yet.\");");
        w.Open("switch (layer ?? \"" + layers[0].Name + "\")");
        foreach (LayerPlan l in layers)
        {
            var (weights, dims) = l.AttentionWeights!.Value;
            string read = $"return {T}.Tensor.Create({weights.Ws}.ToArray(), new global::System.IntPtr[] {{ {dims} }});";
            if (!AttendsOverCache(plan) || l.Layer.IsCrossAttention)
            {
                w.Line($"case \"{l.Name}\": {read}");
                continue;
            }
            w.Line($"case \"{l.Name}\":");
            w.Line($"    if (ws.StartPosition > 0) throw new global::System.InvalidOperationException($\"Layer '{l.Name}': the last pass continued a sequence from position {{ws.StartPosition}} (a State past its start), and the weights of its steps over the cached keys are not kept; run Forward without a State, or from a fresh one, to read them.\");");
            w.Line($"    {read}");
        }
        w.Line($"default: throw new global::System.ArgumentException($\"No attention layer is named '{{layer}}'; the attention layers are: {string.Join(", ", layers.Select(l => l.Name))}.\", nameof(layer));");
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>Every model whose output is a sequence can encode for a decoder: its outputs, final states and their back-propagation.</summary>
    private static void EmitEncoder(SourceWriter w, ModelPlan plan, bool device)
    {
        ShapedModel m = plan.Model;
        if (!m.OutputIsSequence) return;
        string t = m.TakesTokens ? "int" : "float";
        LayerPlan last = plan.Last;
        var context = new EmitContext(w, plan);
        w.Open($"global::Dsl.EncoderOutput global::Dsl.IEncoder<{t}>.Encode({InputType(m)} source, {L} lengths, bool training)");
        if (plan.Positions is not null)
        {
            w.Line("int sourceSteps = ReadInputShape(source).Item2;");
            LimitPositions(w, plan, "sourceSteps", "0", "source");
        }
        w.Line("Workspace ws = LoadInput(source, lengths, 0, training, out int B, out int T);");
        w.Line(device ? "ForwardPass(ws, training, state: null, outputToHost: _deviceRun is null); // (on a device the outputs stay there)" : "ForwardPass(ws, training, state: null);");
        if (device) w.Line("_deviceRun?.ToHost(ws); // what the final states are gathered from, back on the host");
        foreach (LayerPlan layer in plan.Layers) CSharpOps.Write(layer.Encode, context);
        string Tensors(System.Func<FinalStateRef, BufferRef> buffer) =>
            string.Join(", ", plan.Finals.Select(f => $"new global::Dsl.NamedTensor(\"{f.Name}\", {buffer(f).Ws}, B, {f.Width})"));
        w.Line($"ws.Encoded ??= global::Dsl.EncoderOutput.Create(B, T, OutputWidth, new global::System.Memory<float>(ws.Floats, ws.Origin + ws.{last.Out.Name}__at, ws.{last.Out.Name}__length),");
        w.Line($"    new global::System.Memory<float>(ws.Floats, ws.Origin + ws.{last.Dy.Name}__at, ws.{last.Dy.Name}__length), ws.lengths,");
        w.Line($"    new global::Dsl.NamedTensor[] {{ {Tensors(f => f.State)} }}, new global::Dsl.NamedTensor[] {{ {Tensors(f => f.Grad)} }});");
        w.Line("ws.Encoded.SetHasLengths(ws.HasLengths);");
        w.Line("ws.EncodedAs = training ? 2 : 1;");
        if (device) w.Line("_deviceRun?.Keep(ws); // the record stands for the device's outputs, copied to the host when read");
        w.Line("return ws.Encoded;");
        w.Close();
        w.Line();
        w.Open($"void global::Dsl.IEncoder<{t}>.BackwardFromEncoded(global::Dsl.EncoderOutput encoded)");
        w.Line("Workspace ws = _workspace is { } cached && ReferenceEquals(cached.Encoded, encoded) ? cached");
        w.Line($"    : throw new global::System.InvalidOperationException(\"Model '{m.Spec.Name}': the encoded output is not that of its last pass.\");");
        // the record is the workspace's, handed out by every Encode: the last pass must be a training Encode (an inference
        // Encode, or a Forward of the same shape, on a training workspace had been back-propagated through an old pass)
        w.Line($"if (ws.EncodedAs == 0) throw new global::System.InvalidOperationException(\"Model '{m.Spec.Name}': the encoded output is not that of its last pass (it has run another pass since); encode again before back-propagating.\");");
        w.Line($"if (ws.EncodedAs == 1) throw new global::System.InvalidOperationException(\"Model '{m.Spec.Name}': the output was encoded for inference (training: false); encode with training: true to back-propagate.\");");
        if (plan.Finals.Count == 0) w.Line("BackwardPass(ws);");
        else
        {
            w.Line("ws.InjectFinal = true;");
            w.Line("try { BackwardPass(ws); } finally { ws.InjectFinal = false; }");
        }
        w.Close();
        w.Line();
    }

    private static void EmitState(SourceWriter w, ModelPlan plan)
    {
        ShapedModel m = plan.Model;
        string input = InputType(m), name = InputName(m);
        string stepDims = m.TakesTokens ? "batch" : $"batch, {m.InputWidth}";
        string C = m.OutputWidth.ToString(System.Globalization.CultureInfo.InvariantCulture);
        bool learned = plan.States.Any(s => s.Learned is not null); // a new state starts from learned initial states
        string last = plan.Last.Out.Name;

        string iface = ModelInterface(m);
        w.Line("int global::Dsl.IModel.InputWidth => InputWidth;");
        w.Line("int global::Dsl.IModel.OutputWidth => OutputWidth;");
        w.Line("bool global::Dsl.IModel.ReturnsSequences => ReturnsSequences;");
        w.Line("global::Dsl.Rng global::Dsl.IModel.DropoutRandom => _dropoutRng;");
        w.Line("global::Dsl.ModelArchitecture global::Dsl.IModel.Architecture => Architecture;");
        if (plan.Caches.Count > 0) w.Line("bool global::Dsl.IModel.TrainsFromCarriedState => false; // back-propagation does not reach the key/value cache");
        w.Line($"global::Dsl.IModelState {iface}.CreateState(int batch) => CreateState(batch);");
        w.Line($"{T}.Tensor<float> {iface}.Forward({input} {name}, global::Dsl.IModelState state) => Forward({name}, AsState(state));");
        w.Line($"void {iface}.Forward({input} {name}, global::Dsl.IModelState state, {T}.TensorSpan<float> destination) => Forward({name}, AsState(state), destination);");
        w.Line($"float {iface}.Backward({input} {name}, {T}.ReadOnlyTensorSpan<int> targets, global::Dsl.IModelState state) => Backward({name}, targets, AsState(state));");
        w.Line($"float {iface}.Backward({input} {name}, {T}.ReadOnlyTensorSpan<float> targets, global::Dsl.IModelState state) => Backward({name}, targets, AsState(state));");
        w.Line($"{T}.Tensor<float> {iface}.Step({input} {name}, global::Dsl.IModelState state) => Step({name}, AsState(state));");
        w.Line($"void {iface}.Step({input} {name}, global::Dsl.IModelState state, {T}.TensorSpan<float> destination) => Step({name}, AsState(state), destination);");
        w.Line($"private static State AsState(global::Dsl.IModelState state) => state as State ?? throw new global::System.ArgumentException($\"state: expected a {m.Spec.Name}.State from CreateState, got {{state?.GetType().FullName ?? \"null\"}}.\", nameof(state));");
        w.Line();
        w.Line("/// <summary>The recurrent state carried between <see cref=\"Step(" + (m.TakesTokens ? "System.Numerics.Tensors.ReadOnlyTensorSpan{int}" : "System.Numerics.Tensors.ReadOnlyTensorSpan{float}") + ", State)\"/> calls: every recurrent layer's h (and c), " + (learned ? "from CreateState the learned initial states (zeros for new State(batch))" : "zero when created") + ".</summary>");
        w.Open("public sealed class State : global::Dsl.IDecoderState");
        if (learned)
        {
            w.Line($"private readonly {m.Spec.Name}? _owner; // the model whose learned initial states Reset restores (null: zeros)");
            w.Line("/// <summary>A state at the start of a sequence of <paramref name=\"owner\"/>: its learned initial states.</summary>");
            w.Open($"internal State(int batch, {m.Spec.Name} owner) : this(batch)");
            w.Line("_owner = owner;");
            w.Line("Reset();");
            w.Close();
        }
        w.Open("public State(int batch)");
        w.Line("if (batch <= 0) throw new global::System.ArgumentOutOfRangeException(nameof(batch), batch, \"must be positive\");");
        w.Line("Batch = batch;");
        foreach (StateRef s in plan.States)
        {
            w.Line($"{s.Field} = {Check}.NewFloats((long)batch * {s.Width}, \"the state's {s.Name}\", \"batch\");");
            w.Line($"{s.Field}_grad = new float[batch * {s.Width}];");
        }
        string tensors = string.Join(", ", plan.States.Select(s => $"new global::Dsl.NamedTensor(\"{s.Name}\", {s.Field}, batch, {s.Width})"));
        w.Line($"Tensors = new global::Dsl.NamedTensor[] {{ {tensors} }};");
        string grads = string.Join(", ", plan.States.Select(s => $"new global::Dsl.NamedTensor(\"{s.Name}\", {s.Field}_grad, batch, {s.Width})"));
        w.Line($"Gradients = new global::Dsl.NamedTensor[] {{ {grads} }};");
        w.Close();
        w.Line("/// <summary>When true, a Backward from this state writes d(loss)/d(initial state) into <see cref=\"Gradients\"/>.</summary>");
        w.Line("public bool KeepGradients { get; set; }");
        w.Line("/// <summary>The gradients of the state's tensors (see <see cref=\"KeepGradients\"/>).</summary>");
        w.Line("public global::System.Collections.Generic.IReadOnlyList<global::Dsl.NamedTensor> Gradients { get; }");
        bool cross = m.HasCrossAttention;
        w.Line("/// <summary>True when the model attends over an encoder's outputs: give them with <see cref=\"Attend\"/>.</summary>");
        w.Line($"public bool NeedsMemory => {(cross ? "true" : "false")};");
        w.Line("/// <summary>The encoder's outputs the model's cross-attention reads (and adds its gradient into).</summary>");
        w.Line("public global::Dsl.EncoderOutput? Memory { get; private set; }");
        w.Line("/// <summary>Gives the state the encoder's outputs for a batch of the same size.</summary>");
        w.Open("public void Attend(global::Dsl.EncoderOutput encoded)");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(encoded);");
        if (!cross) w.Line($"throw new global::System.InvalidOperationException(\"Model '{m.Spec.Name}' has no cross-attention layer: it attends over nothing.\");");
        else
        {
            w.Line($"{Check}.SameSize(Batch, encoded.Batch, \"encoded\", \"batch (the state's batch size)\");");
            w.Line($"{Check}.SameSize({m.Layers.First(l => l.IsCrossAttention).MemoryWidth}, encoded.Width, \"encoded\", \"width of the encoder's outputs\");");
            w.Line("Memory = encoded;");
            if (plan.MemoryCaches.Count > 0) w.Line("MemoryProjected = false; // the next stepping pass projects the new memory");
        }
        w.Close();
        w.Line("/// <summary>Copies another state of this model (same batch): its tensors and the memory it attends over.</summary>");
        w.Open("public void CopyFrom(global::Dsl.IModelState source)");
        w.Line($"var other = source as State ?? throw new global::System.ArgumentException($\"source: expected a {m.Spec.Name}.State, got {{source?.GetType().FullName ?? \"null\"}}.\", nameof(source));");
        w.Line($"{Check}.SameSize(Batch, other.Batch, \"source\", \"batch (the state's batch size)\");");
        foreach (StateRef s in plan.States) w.Line($"global::System.Array.Copy(other.{s.Field}, {s.Field}, {s.Field}.Length);");
        if (plan.Positional)
        {
            w.Line("Reserve(other.Position - Position);");
            w.Line("Position = other.Position;");
            foreach (CacheRef k in plan.Caches) w.Line($"global::System.Array.Copy(other.{k.Field}, {k.Field}, checked(Position * Batch * {k.Width}));");
        }
        if (plan.MemoryCaches.Count > 0) w.Line("MemoryProjected = false; // (until the projections are copied: a copy that fails projects again)");
        w.Line("Memory = other.Memory;");
        if (plan.MemoryCaches.Count > 0)
        {
            w.Open("if (other.MemoryProjected)");
            w.Line("ReserveProjections();");
            foreach (CacheRef k in plan.MemoryCaches) w.Line($"global::System.Array.Copy(other.{k.Field}, {k.Field}, (long)Memory!.Steps * Batch * {k.Width});");
            w.Line("Projection = other.Projection;");
            w.Line("MemoryProjected = true;");
            w.Close();
        }
        w.Close();
        w.Line("/// <summary>Makes row i of this state row rows[i] of another state of this model (any batch): its tensors" + (plan.Positional ? ", key/value caches and position," : "") + " and the memory it attends over (see <see cref=\"global::Dsl.IDecoderState.CopyRowsFrom\"/>).</summary>");
        w.Open("public void CopyRowsFrom(global::Dsl.IModelState source, global::System.ReadOnlySpan<int> rows)");
        w.Line($"var other = source as State ?? throw new global::System.ArgumentException($\"source: expected a {m.Spec.Name}.State, got {{source?.GetType().FullName ?? \"null\"}}.\", nameof(source));");
        w.Line("if (ReferenceEquals(other, this)) throw new global::System.ArgumentException(\"source: expected another state: rows copied within one state would overwrite those still to be read.\", nameof(source));");
        w.Line($"{Check}.Rows(rows, Batch, other.Batch, nameof(rows));");
        // every check, and the memory's rows (which allocate), before anything is written: a refused call changes nothing
        w.Line("global::Dsl.EncoderOutput? memory = other.Memory?.SelectRows(rows);");
        if (plan.Positional) w.Line("Reserve(other.Position - Position); // (grows the caches, keeping what they hold)");
        if (plan.MemoryCaches.Count > 0)
        {
            // the memory's projections, as the rows of the memory: into arrays large enough, made before anything is written
            w.Line("bool projected = other.MemoryProjected && memory is not null;");
            // a selection that leaves the memory as this state holds it (a beam's rows reordered within each source), from
            // projections the same step made, leaves this state's as they are: each row holds its source's already (the
            // record alone would not do: an encoder hands back its record rewritten, weights change between steps)
            w.Line("bool held = projected && MemoryProjected && ReferenceEquals(memory, Memory) && Projection == other.Projection;");
            w.Line("long projectedRows = projected && !held ? (long)memory!.Steps * Batch : 0;");
            foreach (CacheRef k in plan.MemoryCaches)
                w.Line($"float[] {k.Field}_rows = {k.Field}.Length < projectedRows * {k.Width} ? {Check}.NewFloats(projectedRows * {k.Width}, \"the state's projected memory\", \"rows\") : {k.Field};");
        }
        foreach (StateRef s in plan.States) w.Line($"{Layout}.GatherRows(other.{s.Field}, other.Batch, {s.Field}, rows, 1, {s.Width});");
        if (plan.Positional)
        {
            w.Line("Position = other.Position;");
            foreach (CacheRef k in plan.Caches) w.Line($"{Layout}.GatherRows(other.{k.Field}, other.Batch, {k.Field}, rows, Position, {k.Width});");
        }
        if (plan.MemoryCaches.Count > 0)
        {
            w.Open("if (projected && !held)");
            foreach (CacheRef k in plan.MemoryCaches)
            {
                w.Line($"{Layout}.GatherRows(other.{k.Field}, other.Batch, {k.Field}_rows, rows, memory!.Steps, {k.Width});");
                w.Line($"{k.Field} = {k.Field}_rows;");
            }
            w.Close();
            w.Line("Projection = other.Projection;");
            w.Line("MemoryProjected = projected;");
        }
        w.Line("Memory = memory;");
        w.Close();
        w.Line("/// <summary>The state's tensors [batch, hidden], named layer.h_l0, layer.c_l0…: read them, or write them to start from a given state.</summary>");
        w.Line("public global::System.Collections.Generic.IReadOnlyList<global::Dsl.NamedTensor> Tensors { get; }");
        w.Line("/// <summary>Number of sequences advanced together.</summary>");
        w.Line("public int Batch { get; }");
        foreach (StateRef s in plan.States)
        {
            w.Line($"internal readonly float[] {s.Field}; // [batch, {s.Width}]");
            w.Line($"internal readonly float[] {s.Field}_grad; // [batch, {s.Width}]");
        }
        if (plan.Positional)
        {
            w.Line("/// <summary>The steps taken since the state was created or reset: the position of the next step in its sequence.</summary>");
            w.Line("public int Position { get; internal set; }");
            foreach (CacheRef k in plan.Caches) w.Line($"internal float[] {k.Field} = global::System.Array.Empty<float>(); // {k.Comment}, grown as the steps grow");
            w.Line("/// <summary>Makes room for <paramref name=\"steps\"/> more steps in every key/value cache (doubling, so that stepping allocates rarely).</summary>");
            w.Open("internal void Reserve(int steps)");
            foreach (CacheRef k in plan.Caches)
            {
                // in long, up to the largest array: doubling had overflowed int at 2^30 floats, with a bare OverflowException
                w.Line($"long {k.Field}_need = ((long)Position + steps) * Batch * {k.Width};");
                w.Line($"if ({k.Field}_need > global::System.Array.MaxLength) throw new global::System.InvalidOperationException($\"Model '{plan.Model.Spec.Name}': its key/value cache ({k.Field.TrimStart('_')}) would hold {{(long)Position + steps}} steps of {{Batch}} sequence(s), {{{k.Field}_need}} floats, more than one array holds ({{(global::System.Array.MaxLength)}}); Reset the state to start a new sequence, or step fewer sequences at once.\");");
                w.Line($"if ({k.Field}.Length < {k.Field}_need) global::System.Array.Resize(ref {k.Field}, (int)global::System.Math.Min(global::System.Math.Max({k.Field}_need, 2L * {k.Field}.Length), global::System.Array.MaxLength));");
            }
            w.Close();
        }
        if (plan.MemoryCaches.Count > 0)
        {
            w.Line("/// <summary>True once a pass stepping from this state has projected the memory into its kept keys and values, which later passes read back (cleared by Attend, Reset and a training pass).</summary>");
            w.Line("internal bool MemoryProjected;");
            w.Line("/// <summary>Which step projected the kept keys and values (a new number each time a step of a state of this model projects the memory), carried by a copy: states that share it and the memory's record share their projections' rows.</summary>");
            w.Line("internal long Projection;");
            w.Line("/// <summary>The projections made so far by the steps of this model's states (the last <see cref=\"Projection\"/> given).</summary>");
            w.Line("internal static long Projections;");
            foreach (CacheRef k in plan.MemoryCaches) w.Line($"internal float[] {k.Field} = global::System.Array.Empty<float>(); // {k.Comment}");
            w.Line("/// <summary>Makes room for the memory's projections [S, B, width] (grown, never shrunk: a decoder that steps keeps them).</summary>");
            w.Open("internal void ReserveProjections()");
            w.Line("long rows = Memory is null ? 0 : (long)Memory.Steps * Batch;");
            foreach (CacheRef k in plan.MemoryCaches)
                w.Line($"if ({k.Field}.Length < rows * {k.Width}) {k.Field} = {Check}.NewFloats(rows * {k.Width}, \"the state's projected memory\", \"state\");");
            w.Close();
        }
        w.Line(learned
            ? "/// <summary>Sets every state back to the start of a sequence: the learned initial states (zeros for a state made with <c>new State(batch)</c>).</summary>"
            : "/// <summary>Sets every state back to zero (a new sequence).</summary>");
        w.Open("public void Reset()");
        foreach (StateRef s in plan.States)
        {
            if (s.Learned is null)
            {
                w.Line($"global::System.Array.Clear({s.Field});");
                continue;
            }
            w.Line($"if (_owner is null) global::System.Array.Clear({s.Field});");
            w.Line($"else for (int b = 0; b < Batch; b++) _owner.{s.Learned.Field}.AsSpan().CopyTo(global::System.MemoryExtensions.AsSpan({s.Field}, b * {s.Width}, {s.Width}));");
        }
        if (plan.Positional) w.Line("Position = 0; // the key/value caches are overwritten from the start");
        if (plan.MemoryCaches.Count > 0) w.Line("MemoryProjected = false; // a new sequence projects the memory again (with the weights it then has)");
        w.Close();
        w.Close();
        w.Line();

        string notStep = NotStep(m);
        w.Line(learned
            ? "/// <summary>Creates a state for <paramref name=\"batch\"/> sequences at their start: the learned initial states, as a pass without a state starts from.</summary>"
            : "/// <summary>Creates a zero state for <paramref name=\"batch\"/> sequences.</summary>");
        w.Line(!m.CanStep ? $"public State CreateState(int batch = 1) => {notStep}"
            : learned ? "public State CreateState(int batch = 1) => new State(batch, this);" : "public State CreateState(int batch = 1) => new State(batch);");
        w.Line();
        w.Line($"/// <summary>Advances one step from <paramref name=\"state\"/> with input [{stepDims}]; returns [batch, {C}] and updates the state.</summary>");
        w.Open($"public {T}.Tensor<float> Step({input} {name}, State state)");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(state);");
        w.Line($"var result = {T}.Tensor.Create({Check}.NewFloats((long)state.Batch * {C}, \"the step's output\", \"state\"), new global::System.IntPtr[] {{ state.Batch, {C} }});");
        w.Line($"Step({name}, state, result.AsTensorSpan());");
        w.Line("return result;");
        w.Close();
        w.Line();
        w.Line($"/// <summary>Advances one step from <paramref name=\"state\"/> with input [{stepDims}] into <paramref name=\"destination\"/> [batch, {C}]; allocates nothing once warm.</summary>");
        w.Open($"public void Step({input} {name}, State state, {T}.TensorSpan<float> destination)");
        if (!m.CanStep)
        {
            w.Line(notStep);
            w.Close();
            w.Line();
            return;
        }
        w.Line("global::System.ArgumentNullException.ThrowIfNull(state);");
        WriteFreeDims(w, m.TakesTokens ? [-1] : [-1, m.InputWidth]);
        w.Line($"var x = {Check}.Shape({name}, \"{name}\", \"{stepDims}\", dims);");
        w.Line("int B = dims[0];");
        w.Line($"{Check}.SameSize(state.Batch, B, \"{name}\", \"batch (the state's batch size)\");");
        if (m.TakesTokens) w.Line($"{Check}.Tokens(x, VocabularySize, \"{name}\");");
        w.Line($"{Span} y = {Check}.Destination(destination, \"destination\", \"batch, {C}\", stackalloc int[] {{ B, {C} }});");
        if (m.HasCrossAttention) w.Line("RequireMemory(state, training: false);");
        ReserveCaches(w, plan, "1");
        w.Line($"int S = {SourceSteps(m)};");
        w.Line("Workspace ws = _stepWorkspace is { } cached && cached.B == B && cached.S == S ? cached : (_stepWorkspace = NewWorkspace(B, 1, S, training: false));");
        w.Line(m.TakesTokens ? $"x.CopyTo({plan.Tokens!.Ws});" : $"x.CopyTo({plan.Layers[0].Out.Ws});");
        w.Line("ForwardPass(ws, training: false, state: state);");
        w.Line($"ws.{last}.CopyTo(y);");
        w.Close();
        w.Line();
    }

    /// <summary>
    /// Room in the state's key/value caches for the pass's <paramref name="steps"/>, made before the workspace is chosen: a
    /// cache that would outgrow an array fails with the last pass's workspace (its attention weights) as it was; and a pass
    /// that would reach past a learned position table's rows is refused first.
    /// </summary>
    private static void ReserveCaches(SourceWriter w, ModelPlan plan, string steps)
    {
        LimitPositions(w, plan, steps, "(state?.Position ?? 0)", InputName(plan.Model));
        if (plan.Caches.Count > 0) w.Line($"state?.Reserve({steps});");
    }

    /// <summary>
    /// A learned position table has its rows: a pass of <paramref name="steps"/> from <paramref name="position"/> that would
    /// reach past them is refused at the entry, before any workspace, state or cache moves.
    /// </summary>
    private static void LimitPositions(SourceWriter w, ModelPlan plan, string steps, string position, string input)
    {
        if (plan.Positions is not { } limit) return;
        w.Line($"if ((long){position} + {steps} > {limit.Positions}) throw new global::System.ArgumentException($\"Model '{plan.Model.Spec.Name}': " +
            $"this pass's {{{steps}}} step(s) from position {{{position}}} would reach position {{(long){position} + {steps} - 1}}, but layer '{limit.Layer}' holds positions 0 … {limit.Positions - 1} " +
            $"(maxLength {limit.Positions}): pass fewer steps, or Reset the state to start a new sequence.\", \"{input}\");");
    }

    private static void EmitWorkspace(SourceWriter w, ModelPlan plan)
    {
        w.Line("/// <summary>Every buffer a pass over [B, T] needs: views into one allocation, made once per shape. A workspace for inference");
        w.Line("/// (<see cref=\"Training\"/> false) leaves the gradients and what only back-propagation reads empty.</summary>");
        w.Open("private sealed class Workspace");
        w.Line("public readonly int B;");
        w.Line("public readonly int T;");
        w.Line("public readonly int S;           // source steps of the memory cross-attention reads (0 without)");
        w.Line("public readonly bool Training;   // holds what back-propagation needs");
        if (plan.Model.HasCrossAttention) w.Line("public global::Dsl.EncoderOutput? Memory; // what cross-attention reads in this pass");
        if (plan.Finals.Count > 0) w.Line("public bool InjectFinal;     // back-propagation adds the final states' gradients (an encoder behind a decoder)");
        if (plan.Model.OutputIsSequence)
        {
            w.Line("public global::Dsl.EncoderOutput? Encoded; // this workspace's outputs as an encoder's");
            w.Line("public int EncodedAs;         // the last pass as an encoder: 1 for inference, 2 for training, 0 when another pass ran since");
        }
        if (plan.States.Count > 0) w.Line("public bool HasInitialState; // the last forward pass started from a carried state (copied below), not zeros");
        if (plan.AuxiliaryLoss) w.Line("public float AuxiliaryLoss;   // the terms the layers add to the loss in the last pass (a mixture's load balancing)");
        if (KeepsStartPosition(plan)) w.Line("public int StartPosition;    // where in its sequence the last pass started (past 0, self-attention's weights over cached keys are not kept; a backward pass reads it)");
        w.Line("public bool HasLengths;      // the sequences are padded; their lengths are in `lengths`");
        if (plan.FoldVocab > 0) w.Line($"public bool FoldsTokens => {plan.FoldVocab} < T * B; // more ids than the token table has rows: the recurrent layer projects the table, not each id's vector");
        w.Line("public readonly int[] lengths; // [B]");
        w.Line("public readonly float[] Floats; // every float buffer below is a view into this one allocation, at 64-byte steps from Origin");
        w.Line("public readonly int Origin;     // where the views start in Floats: on a 64-byte boundary (Dsl.Kernels.Aligned)");
        foreach (BufferRef b in plan.Buffers)
        {
            string comment = b.Comment + (b.Use == BufferUse.Training ? " (training)" : "");
            if (!b.IsView) w.Line($"public readonly {(b.IsInt ? "int" : "float")}[] {b.Name}; // {comment}");
            else
            {
                w.Line($"public readonly int {b.Name}__at, {b.Name}__length;");
                w.Line($"public global::System.Span<float> {b.Name} => new global::System.Span<float>(Floats, Origin + {b.Name}__at, {b.Name}__length); // {comment}");
            }
        }
        w.Line("/// <summary>The buffers of a pass over [b, t]; the floats of <paramref name=\"reuse\"/> (a replaced workspace's), cleared, when they are enough: batches of varying lengths do not allocate a workspace each.</summary>");
        w.Open("public Workspace(int b, int t, int s, bool training, float[]? reuse = null)");
        w.Line("B = b;");
        w.Line("T = t;");
        w.Line("S = s;");
        w.Line("Training = training;");
        w.Line("lengths = new int[b];");
        w.Line("int at = 0;");
        foreach (BufferRef b in plan.Buffers)
        {
            string size = $"checked({b.Rows.Expression()} * {b.Width})";
            if (b.Use == BufferUse.Training) size = $"training ? {size} : 0";
            if (!b.IsView) w.Line($"{b.Name} = new {(b.IsInt ? "int" : "float")}[{size}];");
            else
            {
                w.Line($"{b.Name}__at = at;");
                w.Line($"{b.Name}__length = {size};");
                w.Line($"at = checked(at + ({b.Name}__length + 15) / 16 * 16);");
            }
        }
        w.Line("Floats = global::Dsl.Kernels.Aligned.Floats(at, reuse, out Origin);");
        var context = new EmitContext(w, plan);
        foreach (LayerPlan l in plan.Layers) CSharpOps.Write(l.Setup, context, Scope.Workspace);
        w.Close();
        w.Close();
        w.Line();
    }

    private static void EmitPasses(SourceWriter w, ModelPlan plan, bool device)
    {
        if (plan.Model.HasCrossAttention)
        {
            w.Line("/// <summary>The encoder's outputs the state carries, refused when there are none, or none with room for their gradient when training.</summary>");
            w.Open("private static global::Dsl.EncoderOutput RequireMemory(State? state, bool training)");
            w.Line($"global::Dsl.EncoderOutput memory = state?.Memory ?? throw new global::System.InvalidOperationException(\"Model '{plan.Model.Spec.Name}' attends over an encoder's outputs: run it from a State that carries them (an encoder–decoder's Encode, or State.Attend); the overloads without a State cannot.\");");
            w.Line($"if (training && !memory.HasGradient) throw new global::System.InvalidOperationException(\"Model '{plan.Model.Spec.Name}': the encoder's outputs it attends over were encoded for inference (training: false), with no room for their gradient; encode with training: true to train over them.\");");
            w.Line("return memory;");
            w.Close();
            w.Line();
        }
        w.Line("/// <summary>Runs every layer forward, keeping what back-propagation needs in the workspace.</summary>");
        w.Open(device ? "private void ForwardPass(Workspace ws, bool training, State? state, bool outputToHost = true)" : "private void ForwardPass(Workspace ws, bool training, State? state)");
        if (plan.Model.HasCrossAttention) w.Line("ws.Memory = RequireMemory(state, training);");
        if (plan.MemoryCaches.Count > 0)
        {
            w.Open("if (state is { MemoryProjected: false } && !training && ws.T == 1)"); // this step keeps the memory's projections
            w.Line("state.ReserveProjections();");
            w.Line("state.Projection = global::System.Threading.Interlocked.Increment(ref State.Projections);");
            w.Close();
        }
        if (KeepsStartPosition(plan)) w.Line("ws.StartPosition = state?.Position ?? 0;");
        if (plan.States.Count > 0)
        {
            w.Line("ws.HasInitialState = state is not null;");
            w.Open("if (state is not null)");
            foreach (StateRef s in plan.States) w.Line($"{Whole($"state.{s.Field}")}.CopyTo({s.Initial.Ws});");
            w.Close();
        }
        if (device)
        {
            w.Line("if (_deviceRun is not null) _deviceRun.ForwardPass(ws, training, state, outputToHost);");
            w.Open("else");
        }
        foreach (LayerPlan l in plan.Layers.Where(l => l.HasPass)) w.Line($"{l.Name}_forward(ws, training, state);");
        if (device) w.Close();
        if (plan.MemoryCaches.Count > 0) w.Line("if (state is not null) state.MemoryProjected = !training && (state.MemoryProjected || ws.T == 1); // kept by a step; a training pass may change the weights they came from");
        if (plan.Positional) w.Line("if (state is not null) state.Position += ws.T; // the next pass continues the sequence");
        w.Close();
        w.Line();
        w.Line("/// <summary>Back-propagates from the last layer's output gradient, accumulating every parameter's gradient.</summary>");
        w.Open("private void BackwardPass(Workspace ws)");
        if (device)
        {
            w.Open("if (_deviceRun is not null)");
            w.Line("_deviceRun.BackwardPass(ws);");
            w.Line("return;");
            w.Close();
        }
        WriteBackwardCalls(w, plan);
        w.Close();
        w.Line();
    }

    /// <summary>Every layer's backward, last first, each followed by the gradients that join once it has run.</summary>
    internal static void WriteBackwardCalls(SourceWriter w, ModelPlan plan)
    {
        for (int k = plan.Layers.Count - 1; k >= 0; k--)
        {
            LayerPlan l = plan.Layers[k];
            if (!l.HasPass) continue;
            w.Line($"{l.Name}_backward(ws);");
            // a gradient that joins another once this layer's backward has written it (a residual's skip)
            foreach (GradientJoin j in plan.Joins.Where(j => j.AfterLayer == k))
                w.Line($"{Names.TP}.Add({j.Target.Ws}, {j.Source.Ws}, {j.Target.Ws}); // {j.Why}");
        }
    }

    /// <summary>A layer's forward and backward methods, in the manner of llm.c: the ops of its plan, with the comments that explain them.</summary>
    internal static void EmitLayer(LayerPlan layer, EmitContext c)
    {
        Passes passes = layer.Passes;
        EmitMethod(c, passes.ForwardDoc, $"private void {layer.Name}_forward(Workspace ws, bool training, State? state)", passes.Forward);
        EmitMethod(c, passes.BackwardDoc, $"private void {layer.Name}_backward(Workspace ws)", passes.Backward);
    }

    private static void EmitMethod(EmitContext c, EquatableArray<string> doc, string signature, EquatableArray<Op> ops)
    {
        foreach (string line in doc) c.W.Line(line);
        c.W.Open(signature);
        c.W.Line("int B = ws.B, T = ws.T, S = ws.S;");
        CSharpOps.Write(ops, c);
        c.W.Close();
        c.W.Line();
    }

    /// <summary>A span over a whole array (a state's), without relying on the user's usings for extension methods.</summary>
    private static string Whole(string array) => $"global::System.MemoryExtensions.AsSpan({array})";


    /// <summary>The source steps of a pass: those of the memory in the state for a model with cross-attention, else 0.</summary>
    private static string SourceSteps(ShapedModel m) => m.HasCrossAttention ? "state?.Memory?.Steps ?? 0" : "0";
}
