using Dsl.Tests.Models;
using Xunit;

namespace Dsl.Tests.Runtime;

/// <summary>A mixture of experts inside an encoder–decoder: its load-balancing loss has no place in the composition's loss.</summary>
public class MixtureCompositionTests
{
    [Fact]
    public void AnEncoderDecoderRefusesAPartsLoadBalancingLoss()
    {
        // the composition's loss is the decoder's cross-entropy: the encoder's term would reach its router's gradient but not the
        // loss Backward and Loss report, so the part is refused, naming the layer
        var e = Assert.Throws<NotSupportedException>(() => new MoeBalancedEncoderDecoder(seed: 1));
        Assert.Equal("The encoder MoeBalancedEncoder declares LoadBalancingLoss = 0.1 on layer 'moe': an encoder–decoder's loss does not add its parts' "
            + "load-balancing terms; declare the [Moe] without it here.", e.Message);
    }
}
