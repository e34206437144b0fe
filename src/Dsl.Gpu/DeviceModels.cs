using System;

namespace Dsl.Gpu;

/// <summary><c>To(device)</c> for what is not a generated model itself: an encoder–decoder composition.</summary>
public static class DeviceModels
{
    /// <summary>
    /// Moves both parts of an encoder–decoder to <paramref name="device"/> (and the bridges' parameters, so that the
    /// optimisers run there; the bridges themselves compute on the host, synchronising their small tensors). Nothing moves
    /// when a part cannot run on the device: the exception names its layer.
    /// </summary>
    /// <exception cref="NotSupportedException">The encoder or the decoder has a layer the device cannot run.</exception>
    public static void To<TSource, TEncoder, TDecoder>(this EncoderDecoderModel<TSource, TEncoder, TDecoder> model, Device device)
        where TEncoder : IEncoder<TSource>
        where TDecoder : IModel<int>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(device);
        IDeviceModel encoder = Part(model.Encoder, "encoder"), decoder = Part(model.Decoder, "decoder");
        try
        {
            encoder.To(device);
            decoder.To(device);
        }
        catch
        {
            encoder.ToHost();
            decoder.ToHost();
            throw;
        }
        foreach (Parameter p in model.Parameters) DeviceParameter.On(p, device); // the bridges' (the parts' are there already)
    }

    /// <summary>Brings both parts and the bridges back to the host.</summary>
    public static void ToHost<TSource, TEncoder, TDecoder>(this EncoderDecoderModel<TSource, TEncoder, TDecoder> model)
        where TEncoder : IEncoder<TSource>
        where TDecoder : IModel<int>
    {
        ArgumentNullException.ThrowIfNull(model);
        Part(model.Encoder, "encoder").ToHost();
        Part(model.Decoder, "decoder").ToHost();
        foreach (Parameter p in model.Parameters) DeviceParameter.Release(p);
    }

    private static IDeviceModel Part(object part, string which) => part as IDeviceModel
        ?? throw new NotSupportedException($"The {which} ({part.GetType().Name}) is not a generated model of a project that references Dsl.Gpu.");
}
