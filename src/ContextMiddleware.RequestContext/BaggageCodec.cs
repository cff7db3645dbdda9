using System.Diagnostics.CodeAnalysis;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// Turns a baggage variable's value into the text of a <c>baggage</c> member and back, for a type the built-in
/// registrations do not cover (strings, <see cref="ISpanParsable{TSelf}"/> types such as <see cref="int"/>,
/// <see cref="long"/>, <see cref="Guid"/> and <see cref="bool"/>, and enums). The text is the decoded value:
/// percent-encoding is the suite's business.
/// </summary>
/// <typeparam name="T">The variable's type.</typeparam>
/// <example>
/// <code>
/// sealed class RegionCodec : BaggageCodec&lt;Region&gt;
/// {
///     public override bool TryParse(string text, [MaybeNullWhen(false)] out Region value) =&gt; Region.TryFromCode(text, out value);
///     public override string Format(Region value) =&gt; value.Code;
/// }
///
/// builder.Services.AddRequestContext(o =&gt; o.Baggage.Add(Region.Current, "region", new RegionCodec()));
/// </code>
/// </example>
public abstract class BaggageCodec<T>
{
    /// <summary>Reads a value from a member's decoded text; must not throw on any input (return false instead).</summary>
    /// <param name="text">The decoded value, never <see langword="null"/>; any string a caller can send.</param>
    /// <param name="value">The value read.</param>
    /// <returns>Whether <paramref name="text"/> is a valid value.</returns>
    public abstract bool TryParse(string text, [MaybeNullWhen(false)] out T value);

    /// <summary>Writes a value as text; the suite percent-encodes it. An exception leaves the member out of the header.</summary>
    /// <param name="value">A value of the variable, never <see langword="null"/>.</param>
    /// <returns>The text that <see cref="TryParse"/> reads back as <paramref name="value"/>.</returns>
    public abstract string Format(T value);

    /// <summary>
    /// Whether a value set in code can be sent so that a receiver reads it back; <paramref name="reason"/> says why not,
    /// or is <see langword="null"/> when the value is simply left out (an empty string).
    /// </summary>
    internal virtual bool CanSend(T value, out string? reason)
    {
        reason = null;
        return true;
    }

    /// <summary>Appends a value that needs no percent-encoding straight into a header; false to use <see cref="Format"/>.</summary>
    internal virtual bool TryAppendPlain(T value, System.Text.StringBuilder builder) => false;
}
