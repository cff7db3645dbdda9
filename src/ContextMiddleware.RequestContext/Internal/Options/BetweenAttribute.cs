using System.ComponentModel.DataAnnotations;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// An <see cref="int"/> from <paramref name="minimum"/> to <paramref name="maximum"/>, with a message that names the
/// configuration key and the value (<see cref="RangeAttribute"/>'s copy in the options validation source generator
/// ignores <see cref="ValidationAttribute.ErrorMessage"/>).
/// </summary>
/// <param name="minimum">The smallest valid value.</param>
/// <param name="maximum">The largest valid value.</param>
/// <param name="setting">The configuration key, for the message (<c>RequestContext:MaxRequestIdLength</c>).</param>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class BetweenAttribute(int minimum, int maximum, string setting) : SettingValidationAttribute
{
    /// <inheritdoc />
    public override bool IsValid(object? value) => value is int number && number >= minimum && number <= maximum;

    /// <inheritdoc />
    protected override string Describe(object? value) => $"{setting} must be between {minimum} and {maximum}; it is {value}.";
}
