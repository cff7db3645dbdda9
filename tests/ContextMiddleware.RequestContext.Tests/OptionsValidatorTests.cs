using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.Requests.Tests;

public class OptionsValidatorTests
{
    [Theory]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("2001:db8::/32", true)]
    [InlineData("192.0.2.7", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("not-an-ip", false)]
    [InlineData("", false)]
    public void TrustedNetworks_CidrOrAddress_Validates(string network, bool valid)
    {
        var options = new RequestContextOptions { TrustedNetworks = [network] };

        var result = new RequestContextOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
    }

}
