using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Dsl;

/// <summary>
/// Saves and resumes a whole training run in one safetensors file: the parameters (<c>model.</c> + their
/// state_dict names), the optimiser's state (<c>optimizer.m.</c>…), and in <c>__metadata__</c> the optimiser's
/// hyperparameters (an optimiser built with others is refused: its parameter groups and each parameter's decay included),
/// every group's rate, the schedule's position and settings, a <see cref="ReduceLrOnPlateau"/>'s, the model's label smoothing,
/// the step, the data generator's state and the model's dropout generator. Saving writes a
/// temporary file and renames it, so a run killed during a save keeps its previous checkpoint; loading
/// checks everything before changing anything. A resumed run continues bit for bit as the uninterrupted one.
/// </summary>
public static class Checkpoint
{
    /// <summary>The generators a model draws from besides <see cref="IModel.DropoutRandom"/> (an encoder–decoder's), by name.</summary>
    private static IEnumerable<(string Name, Rng Rng)> OtherRandoms(IModel model) =>
        model is IHasRandoms r ? r.OtherRandoms : Enumerable.Empty<(string, Rng)>();

    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";
    private const string SettingKey = "dsl.optimizer.setting.";
    private const string ScheduleSettingKey = "dsl.schedule.setting.";
    private const string PlateauSettingKey = "dsl.plateau.setting.";

    /// <summary>
    /// Adds a problem for each setting saved under <paramref name="prefix"/> that is not a number or differs from what the
    /// resuming <paramref name="owner"/> was built with (a setting not saved, from a file written before they were, passes).
    /// </summary>
    private static void CompareSettings<T>(Dictionary<string, string> metadata, string prefix, string owner, (string Name, T Value)[] settings, List<string> problems)
        where T : System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        foreach (var (name, value) in settings)
        {
            if (!metadata.TryGetValue(prefix + name, out string? text)) continue;
            if (!T.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out T? setting))
                problems.Add($"metadata '{prefix + name}' is '{text}', expected a number");
            else if (setting.CompareTo(value) != 0)
                problems.Add($"the {owner}'s {name} was {setting.ToString("R", CultureInfo.InvariantCulture)}, not {value.ToString("R", CultureInfo.InvariantCulture)} (build it as it was for the saved run)");
        }
    }

    /// <summary>Puts back the saved rates: each group's, or the one rate every group had.</summary>
    private static void SetRates(Optimizer optimizer, float learningRate, float[]? groupRates)
    {
        if (groupRates is null) optimizer.LearningRate = learningRate;
        else for (int g = 0; g < groupRates.Length; g++) optimizer.SetGroupLearningRate(g, groupRates[g]);
    }

    /// <summary>Saves the run's state to <paramref name="path"/>, atomically.</summary>
    public static void Save(string path, IModel model, Optimizer? optimizer = null, LearningRateSchedule? schedule = null, Rng? random = null, long step = 0,
        ReduceLrOnPlateau? plateau = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        // Load refuses a negative step: saving one would replace a good checkpoint with a file that cannot be read back
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "must not be negative (Load reads dsl.step as a whole number ≥ 0)");
        var tensors = new List<(string, ReadOnlyMemory<int>, ReadOnlyMemory<float>)>();
        foreach (Parameter p in model.Parameters) tensors.Add((ModelPrefix + p.Name, p.Shape.ToArray(), p.ToArray()));
        var metadata = new Dictionary<string, string>
        {
            ["dsl.checkpoint"] = "1",
            ["dsl.step"] = step.ToString(CultureInfo.InvariantCulture),
            ["dsl.dropout_rng"] = model.DropoutRandom.Save(),
            ["dsl.model.label_smoothing"] = model.LabelSmoothing.ToString("R", CultureInfo.InvariantCulture),
        };
        foreach (var (name, rng) in OtherRandoms(model)) metadata["dsl.rng." + name] = rng.Save();
        if (optimizer is not null)
        {
            metadata["dsl.optimizer"] = optimizer.GetType().Name;
            metadata["dsl.optimizer.step_count"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture);
            metadata["dsl.optimizer.learning_rate"] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture);
            if (optimizer.GroupCount > 1) // every group's rate, the first's again: a schedule moves each
                metadata["dsl.optimizer.learning_rates"] = string.Join(" ", Enumerable.Range(0, optimizer.GroupCount).Select(g => optimizer.GroupLearningRate(g).ToString("R", CultureInfo.InvariantCulture)));
            foreach (var (name, value) in optimizer.AllSettings) metadata[SettingKey + name] = value.ToString("R", CultureInfo.InvariantCulture);
            optimizer.StateToHost(); // a device may hold newer moments
            if (optimizer.Flags is { } flags) metadata["dsl.optimizer.flags"] = string.Concat(flags.Select(f => f ? '1' : '0'));
            foreach (var (slot, buffers) in optimizer.StateSlots)
            {
                for (int i = 0; i < buffers.Length; i++)
                    tensors.Add(($"{OptimizerPrefix}{slot}.{optimizer.Parameters[i].Name}", optimizer.Parameters[i].Shape.ToArray(), buffers[i].ToArray()));
            }
        }
        if (schedule is not null)
        {
            metadata["dsl.schedule"] = schedule.GetType().Name;
            metadata["dsl.schedule.step"] = schedule.StepCount.ToString(CultureInfo.InvariantCulture);
            foreach (var (name, value) in schedule.AllSettings) metadata[ScheduleSettingKey + name] = value.ToString("R", CultureInfo.InvariantCulture);
        }
        if (plateau is not null)
        {
            var (best, bad, cooldown, steps, reductions) = plateau.Position;
            metadata["dsl.plateau"] = string.Join(" ", [best.ToString("R", CultureInfo.InvariantCulture), .. new[] { bad, cooldown, steps, reductions }.Select(n => n.ToString(CultureInfo.InvariantCulture))]);
            foreach (var (name, value) in plateau.Settings) metadata[PlateauSettingKey + name] = value.ToString("R", CultureInfo.InvariantCulture);
        }
        if (random is not null) metadata["dsl.rng"] = random.Save();
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>
    /// Restores a run saved by <see cref="Save"/> into the given objects (built as they were for the saved run) and
    /// returns the saved step. Everything is checked first: a file that does not match changes nothing.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint of this model and optimiser.</exception>
    public static long Load(string path, IModel model, Optimizer? optimizer = null, LearningRateSchedule? schedule = null, Rng? random = null,
        ReduceLrOnPlateau? plateau = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Dictionary<string, SafeTensor> tensors = SafeTensors.Read(path, out Dictionary<string, string> metadata);
        var problems = new List<string>();
        // null when missing (a problem noted once); an empty value is malformed wherever a value is parsed
        string? Meta(string key)
        {
            if (metadata.TryGetValue(key, out string? value)) return value;
            problems.Add($"missing metadata '{key}'");
            return null;
        }
        // a number the file holds: missing or malformed (empty, not a count ≥ 0, not a finite rate ≥ 0) is a problem, not a silent 0
        long Count(string key)
        {
            string? text = Meta(key);
            if (text is null) return 0;
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) && value >= 0) return value;
            problems.Add($"metadata '{key}' is '{text}', expected a whole number ≥ 0");
            return 0;
        }
        if (!metadata.ContainsKey("dsl.checkpoint")) problems.Add("it is not a Dsl checkpoint (no dsl.checkpoint metadata; for plain weights use Parameters.Load)");
        ParameterSet.Staged[] weights = model.Parameters.Prepare(tensors, ModelPrefix, problems);
        long step = Count("dsl.step");
        string dropout = Meta("dsl.dropout_rng") ?? "";
        // the loss it trained with (a file without the record, written before it was kept, counts as unsmoothed)
        string smoothingText = metadata.GetValueOrDefault("dsl.model.label_smoothing", "0");
        if (!float.TryParse(smoothingText, NumberStyles.Float, CultureInfo.InvariantCulture, out float smoothing))
            problems.Add($"metadata 'dsl.model.label_smoothing' is '{smoothingText}', expected a number");
        else if (smoothing != model.LabelSmoothing)
            problems.Add($"the model's label smoothing was {smoothing.ToString("R", CultureInfo.InvariantCulture)}, not {model.LabelSmoothing.ToString("R", CultureInfo.InvariantCulture)} (set LabelSmoothing as it was for the saved run)");
        var others = OtherRandoms(model).Select(r => (r.Rng, State: Meta("dsl.rng." + r.Name) ?? "")).ToList();

        var optimizerState = new List<(float[] Target, float[] Values)>();
        long optimizerSteps = 0;
        float learningRate = 0;
        float[]? groupRates = null;
        string flags = "";
        if (optimizer is not null)
        {
            string? kind = Meta("dsl.optimizer");
            if (kind is not null && kind != optimizer.GetType().Name) problems.Add($"the optimiser was '{kind}', not {optimizer.GetType().Name}");
            optimizerSteps = Count("dsl.optimizer.step_count");
            string? rate = Meta("dsl.optimizer.learning_rate");
            if (float.TryParse(rate, NumberStyles.Float, CultureInfo.InvariantCulture, out float lr) && lr >= 0 && float.IsFinite(lr)) learningRate = lr;
            else if (rate is not null) problems.Add($"metadata 'dsl.optimizer.learning_rate' is '{rate}', expected a finite rate ≥ 0");
            // the groups' rates (a file from before groups, or of one group, has the one rate above)
            if (metadata.TryGetValue("dsl.optimizer.learning_rates", out string? rates))
            {
                string[] parts = rates.Split(' ');
                groupRates = new float[parts.Length];
                for (int g = 0; g < parts.Length; g++)
                {
                    if (!(float.TryParse(parts[g], NumberStyles.Float, CultureInfo.InvariantCulture, out groupRates[g]) && groupRates[g] >= 0 && float.IsFinite(groupRates[g])))
                    {
                        problems.Add($"metadata 'dsl.optimizer.learning_rates' is '{rates}', expected a finite rate ≥ 0 per group");
                        break;
                    }
                }
                if (parts.Length != optimizer.GroupCount) problems.Add($"the optimiser had {parts.Length} parameter groups, not {optimizer.GroupCount}");
            }
            if (optimizer.Flags is { } f && Meta("dsl.optimizer.flags") is { } saved)
            {
                flags = saved;
                if (flags.Any(c => c is not ('0' or '1'))) problems.Add($"metadata 'dsl.optimizer.flags' is '{flags}', expected 0s and 1s");
                else if (flags.Length != f.Length) problems.Add($"the optimiser had {flags.Length} parameters, not {f.Length}");
            }
            // the hyperparameters it was built with (a checkpoint written before they were recorded has none to compare)
            CompareSettings(metadata, SettingKey, "optimiser", optimizer.AllSettings, problems);
            // a file from before maximize was recorded descended: resuming it ascending would turn the run around
            if (optimizer.Maximize && !metadata.ContainsKey(SettingKey + "maximize")) problems.Add("the optimiser did not maximise (the file records no maximize), not maximize: true");
            var expected = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (slot, buffers) in optimizer.StateSlots)
            {
                for (int i = 0; i < buffers.Length; i++)
                {
                    string name = $"{OptimizerPrefix}{slot}.{optimizer.Parameters[i].Name}";
                    expected.Add(name);
                    if (!tensors.TryGetValue(name, out SafeTensor? t)) problems.Add($"missing optimiser state '{name}'");
                    else if (t.ElementCount != buffers[i].Length) problems.Add($"optimiser state '{name}' has {t.ElementCount} values, expected {buffers[i].Length}");
                    else optimizerState.Add((buffers[i], t.ToFloat()));
                }
            }
            // state for parameters this optimiser does not update (it was built over others) is not dropped silently
            foreach (string name in tensors.Keys.Where(n => n.StartsWith(OptimizerPrefix, StringComparison.Ordinal) && !expected.Contains(n)).Order(StringComparer.Ordinal))
                problems.Add($"unexpected optimiser state '{name}' (this optimiser has no such slot or parameter)");
        }
        int scheduleStep = 0;
        if (schedule is not null)
        {
            string? kind = Meta("dsl.schedule");
            if (kind is not null && kind != schedule.GetType().Name) problems.Add($"the schedule was '{kind}', not {schedule.GetType().Name}");
            // what it was built with: another period, factor or base rate would not continue the saved run
            CompareSettings(metadata, ScheduleSettingKey, "schedule", schedule.AllSettings, problems);
            long k = Count("dsl.schedule.step");
            if (k > int.MaxValue) problems.Add($"metadata 'dsl.schedule.step' is {k}, more steps than a schedule counts");
            else
            {
                scheduleStep = (int)k;
                // the rate Resume will set, checked here: Resume refuses a rate that is not finite and ≥ 0, and by then the
                // weights would have been replaced
                if (schedule.RateProblem(scheduleStep) is string problem) problems.Add(problem);
            }
        }
        PlateauPosition plateauPosition = default;
        if (plateau is not null && Meta("dsl.plateau") is { } position)
        {
            // best, bad steps, cooldown left, steps, reductions
            string[] parts = position.Split(' ');
            int[] counts = new int[4];
            if (parts.Length != 5 || !float.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out float best)
                || !parts.Skip(1).Select((text, i) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out counts[i])).All(ok => ok))
                problems.Add($"metadata 'dsl.plateau' is '{position}', expected the best metric and four counts");
            else
            {
                plateauPosition = new PlateauPosition(best, counts[0], counts[1], counts[2], counts[3]);
                if (plateau.PositionProblem(plateauPosition) is string problem) problems.Add($"the plateau watcher's position: {problem}");
            }
            CompareSettings(metadata, PlateauSettingKey, "plateau watcher", plateau.Settings, problems);
        }
        string randomState = random is null ? "" : Meta("dsl.rng") ?? "";
        if (problems.Count > 0)
            throw new InvalidDataException($"Cannot resume from '{path}': {string.Join("; ", problems)}. Nothing was changed.");

        // Rng states are parsed before anything is assigned, so that a malformed one changes nothing either.
        var dropoutCheck = new Rng(0);
        var randomCheck = new Rng(0);
        try
        {
            dropoutCheck.Restore(dropout);
            if (random is not null) randomCheck.Restore(randomState);
            foreach (var (_, state) in others) new Rng(0).Restore(state);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"Cannot resume from '{path}': {e.Message} Nothing was changed.", e);
        }

        model.Parameters.Assign(weights);
        model.DropoutRandom.Restore(dropout);
        foreach (var (rng, state) in others) rng.Restore(state);
        if (optimizer is not null)
        {
            foreach (var (target, values) in optimizerState) values.CopyTo(target, 0);
            optimizer.StateFromHost(); // a device takes the loaded moments before its next step
            optimizer.StepCount = optimizerSteps;
            SetRates(optimizer, learningRate, groupRates);
            if (optimizer.Flags is { } f)
            {
                for (int i = 0; i < f.Length; i++) f[i] = flags[i] == '1';
            }
        }
        if (schedule is not null)
        {
            schedule.Resume(scheduleStep);
            if (optimizer is not null && ReferenceEquals(schedule.Optimizer, optimizer)) SetRates(optimizer, learningRate, groupRates);
        }
        plateau?.Restore(plateauPosition);
        random?.Restore(randomState);
        return step;
    }
}
