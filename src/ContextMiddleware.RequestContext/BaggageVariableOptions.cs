using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// How an incoming <c>baggage</c> member of one registered variable is checked, and whether the variable is logged: the
/// optional argument of <see cref="RequestBaggageOptions.Add(ContextVar{string}, string, Action{BaggageVariableOptions{string}})"/>
/// and its overloads.
/// </summary>
/// <typeparam name="T">The variable's type.</typeparam>
/// <remarks>
/// An incoming value that is empty, too long, does not match <see cref="Pattern"/>, does not parse, or fails
/// <see cref="Validate"/> is dropped: the variable is left unset and a Warning names the key and the reason, never the
/// value. Keys are matched exactly (case-sensitive, as the recommendation's keys are). Values the app sets itself are
/// not checked, but a value no receiver could read is not sent: an empty string, an enum value that is not a defined
/// name, a value whose codec throws (a Warning names the key, once per request).
/// </remarks>
public sealed class BaggageVariableOptions<T>
{
    /// <summary>Gets or sets the longest incoming value accepted, in characters after percent-decoding (1 to 8,192).</summary>
    /// <value>Default: 256.</value>
    public int MaxLength { get; set; } = 256;

    /// <summary>
    /// Gets or sets a regular expression the whole decoded text of an incoming value must match (for example
    /// <c>[a-z0-9-]{1,32}</c>: it is anchored at both ends whether or not it has <c>^</c> and <c>$</c>); matched with the
    /// invariant culture and a 100 ms timeout (a timeout drops the value).
    /// </summary>
    /// <value>Default: <see langword="null"/> (no pattern).</value>
    [StringSyntax(StringSyntaxAttribute.Regex)]
    public string? Pattern { get; set; }

    /// <summary>
    /// Gets or sets a check of the parsed incoming value (for example that a tenant exists in a list); false, or an
    /// exception, drops it. It may be called more than once for one member (an HTTP request's baggage is read by
    /// ASP.NET Core's hosting and by the request's context), so keep it fast, free of I/O and of side effects.
    /// </summary>
    /// <value>Default: <see langword="null"/> (every parsed value).</value>
    public Func<T, bool>? Validate { get; set; }

    /// <summary>
    /// Gets or sets the name of the log property that carries the variable's current value on every event written where
    /// it is set (the Serilog enricher <c>WithRequestContext()</c>, the Microsoft.Extensions.Logging request scope and
    /// the <c>ContextMiddleware.Telemetry</c> log enricher); <see langword="null"/> for none. Values can be personal
    /// data: log only what you would log anyway.
    /// </summary>
    /// <value>Default: <see langword="null"/> (not logged).</value>
    public string? LogPropertyName { get; set; }

    // Anchored, so that the whole text must match even when the pattern itself has no ^ and $.
    internal Regex? CompilePattern() =>
        Pattern is null ? null : new Regex($"^(?:{Pattern})\\z", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
}
