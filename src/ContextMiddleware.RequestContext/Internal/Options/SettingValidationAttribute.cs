using System.ComponentModel.DataAnnotations;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// A rule on one setting of the options, checked by the code the options validation source generator writes. A
/// failure is the sentence alone, naming the configuration key and the value, with no member names (the generated
/// validator would put the C# member's name in front of it), as the hand-written rules' messages are.
/// </summary>
internal abstract class SettingValidationAttribute : ValidationAttribute
{
    /// <inheritdoc />
    protected sealed override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        IsValid(value) ? ValidationResult.Success : new ValidationResult(Describe(value));

    /// <summary>The failure's sentence for <paramref name="value"/>.</summary>
    /// <param name="value">The setting's value.</param>
    /// <returns>By default <see cref="ValidationAttribute.ErrorMessage"/>, then the value.</returns>
    protected virtual string Describe(object? value) => $"{ErrorMessage} It is {value}.";
}
