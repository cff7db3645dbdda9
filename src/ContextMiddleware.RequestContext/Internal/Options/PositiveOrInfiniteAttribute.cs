using System.ComponentModel.DataAnnotations;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>A <see cref="TimeSpan"/> that is positive, or <see cref="Timeout.InfiniteTimeSpan"/> (no limit).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class PositiveOrInfiniteAttribute : ValidationAttribute
{
    /// <inheritdoc />
    public override bool IsValid(object? value) =>
        value is TimeSpan span && (span > TimeSpan.Zero || span == Timeout.InfiniteTimeSpan);

    /// <inheritdoc />
    /// <remarks>No member names: the options' failure message is the sentence alone.</remarks>
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        IsValid(value) ? ValidationResult.Success : new ValidationResult($"{ErrorMessage} It is {value}.");
}
