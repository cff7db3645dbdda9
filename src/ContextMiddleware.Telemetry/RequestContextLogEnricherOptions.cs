using ContextMiddleware.AspNetCore;
using Microsoft.Extensions.Compliance.Classification;

namespace ContextMiddleware.Telemetry;

/// <summary>Options of the request context's <c>ILogEnricher</c> (<c>AddRequestContextLogEnricher()</c>).</summary>
public sealed class RequestContextLogEnricherOptions
{
    /// <summary>The taxonomy of <see cref="UserIdClassification"/> and <see cref="UserNameClassification"/>.</summary>
    public const string TaxonomyName = "ContextMiddleware";

    internal List<(string Name, Func<object?> Read)> Variables { get; } = [];

    /// <summary>
    /// Gets or sets the classification of the user id: with redaction on (an <c>IRedactorProvider</c>, as
    /// <c>AddRedaction()</c> registers for <c>EnableRedaction()</c>), the id is written as that classification's
    /// redactor makes it.
    /// </summary>
    /// <value>Default: <c>ContextMiddleware:UserId</c>.</value>
    public DataClassification UserIdClassification { get; set; } = new(TaxonomyName, "UserId");

    /// <summary>Gets or sets the classification of the user name; see <see cref="UserIdClassification"/>.</summary>
    /// <value>Default: <c>ContextMiddleware:UserName</c>.</value>
    public DataClassification UserNameClassification { get; set; } = new(TaxonomyName, "UserName");

    /// <summary>Gets or sets a value indicating whether the request's properties (<see cref="RequestContext.Properties"/>) are added.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RequestProperties { get; set; } = true;

    /// <summary>Adds a <see cref="ContextVar{T}"/> to every record, under <paramref name="name"/>, when it has a value.</summary>
    /// <typeparam name="T">The variable's type.</typeparam>
    /// <param name="variable">The variable.</param>
    /// <param name="name">The tag's name.</param>
    /// <returns>These options.</returns>
    public RequestContextLogEnricherOptions Add<T>(ContextVar<T> variable, string name)
    {
        ArgumentNullException.ThrowIfNull(variable);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Variables.Add((name, () => variable.TryGet(out var value) ? Fixed(value) : null));
        return this;
    }

    /// <summary>
    /// The value as written: an immutable scalar as it is, anything else as its invariant text now, so that an exporter
    /// reading the record later (a batch) sees the value it had when the record was written.
    /// </summary>
    private static object? Fixed(object? value)
    {
        try
        {
            return value switch
            {
                null or string or bool or char or byte or sbyte or short or ushort or int or uint or long or ulong or float or double
                    or decimal or Guid or DateTime or DateTimeOffset or TimeSpan or DateOnly or TimeOnly => value,
                Enum e => e.ToString(),
                IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                _ => value.ToString(),
            };
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return null; // a value that cannot be made into text is left out, never a failed log call
        }
    }
}
