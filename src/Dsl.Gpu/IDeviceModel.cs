namespace Dsl.Gpu;

/// <summary>
/// A generated model in a project that references Dsl.Gpu: it can move to a device. Every generated model implements it;
/// one with a layer the device cannot run refuses in <see cref="To"/>, naming the layer.
/// </summary>
public interface IDeviceModel
{
    /// <summary>The device the model computes on, or null on the host.</summary>
    Device? Device { get; }

    /// <summary>Moves the model's parameters, gradients and workspaces to <paramref name="device"/>; its passes run there from now on.</summary>
    void To(Device device);

    /// <summary>Brings the parameters back to the host, which computes from now on.</summary>
    void ToHost();
}
