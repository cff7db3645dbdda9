using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
    [InlineData(1024, 65536, true)]
    [InlineData(-1, 1024, false)]
    [InlineData(32, 0, false)]
    [InlineData(5000, 1024, false)]
    [InlineData(32, 65537, false)]
    public void Property_limits_are_validated_naming_the_setting_and_the_value(int maxCount, int maxValueLength, bool valid)
    {
        // As an app gets them: every validator AddRequestContextCore() registers (the generated one checks the ranges).
        using var provider = new ServiceCollection().AddLogging().AddRequestContextCore(options =>
        {
            options.Properties.MaxCount = maxCount;
            options.Properties.MaxValueLength = maxValueLength;
        }).BuildServiceProvider();

        var failure = Record.Exception(() => provider.GetRequiredService<IOptions<RequestContextOptions>>().Value);

        Assert.Equal(valid, failure is null);
        if (!valid)
        {
            var message = Assert.Single(Assert.IsType<OptionsValidationException>(failure).Failures);
            Assert.Matches(@"^RequestContext:Properties:Max(Count|ValueLength) must be between \d+ and \d+; it is -?\d+\.$", message);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1025)]
    public void MaxRequestIdLength_out_of_range_is_named_with_its_value(int length)
    {
        using var provider = new ServiceCollection().AddLogging().AddRequestContextCore(options => options.MaxRequestIdLength = length).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RequestContextOptions>>().Value);

        Assert.Equal([$"RequestContext:MaxRequestIdLength must be between 1 and 1024; it is {length}."], failure.Failures);
    }
}
