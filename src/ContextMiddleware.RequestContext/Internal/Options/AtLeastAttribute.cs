using System.ComponentModel.DataAnnotations;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// An <see cref="int"/> of at least <paramref name="minimum"/>. (Not <see cref="RangeAttribute"/>: the options
/// validation source generator replaces it with a copy that ignores <see cref="ValidationAttribute.ErrorMessage"/>,
/// and the message should name the configuration key.)
/// </summary>
/// <param name="minimum">The smallest valid value.</param>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class AtLeastAttribute(int minimum) : ValidationAttribute
{
    /// <inheritdoc />
    public override bool IsValid(object? value) => value is int number && number >= minimum;

    /// <inheritdoc />
    /// <remarks>No member names: the options' failure message is the sentence alone.</remarks>
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        IsValid(value) ? ValidationResult.Success : new ValidationResult($"{ErrorMessage} It is {value}.");
}
