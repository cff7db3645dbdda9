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

    [Theory]
    [InlineData(32, 1024, true)]
    [InlineData(0, 1, true)]
    [InlineData(-1, 1024, false)]
    [InlineData(32, 0, false)]
    [InlineData(5000, 1024, false)]
    public void Property_limits_are_validated_naming_the_setting(int maxCount, int maxValueLength, bool valid)
    {
        var options = new RequestContextOptions();
        options.Properties.MaxCount = maxCount;
        options.Properties.MaxValueLength = maxValueLength;

        var result = new RequestContextOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains("RequestContext:Properties:", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
