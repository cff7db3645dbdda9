namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>A <see cref="TimeSpan"/> that is positive, or <see cref="Timeout.InfiniteTimeSpan"/> (no limit).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class PositiveOrInfiniteAttribute : SettingValidationAttribute
{
    /// <inheritdoc />
    public override bool IsValid(object? value) =>
        value is TimeSpan span && (span > TimeSpan.Zero || span == Timeout.InfiniteTimeSpan);
}
