using System.ComponentModel.DataAnnotations;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// An <see cref="int"/> of at least <paramref name="minimum"/>. (Not <see cref="RangeAttribute"/>: the options
/// validation source generator replaces it with a copy that ignores <see cref="ValidationAttribute.ErrorMessage"/>,
/// and the message should name the configuration key.)
/// </summary>
/// <param name="minimum">The smallest valid value.</param>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class AtLeastAttribute(int minimum) : SettingValidationAttribute
{
    /// <inheritdoc />
    public override bool IsValid(object? value) => value is int number && number >= minimum;
}
