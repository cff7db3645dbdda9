using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>One registered variable: its key, how its incoming text is checked and read, and how its value is written.</summary>
internal abstract class BaggageVariable(string key, ContextVar variable, string? logPropertyName)
{
    public string Key { get; } = key;

    public ContextVar Variable { get; } = variable;

    public string? LogPropertyName { get; } = logPropertyName;

    /// <summary>
    /// Reads and checks an incoming member's decoded text; on failure, the reason (never the value).
    /// </summary>
    public abstract bool TryRead(string text, out object? value, [NotNullWhen(false)] out string? reason);

    /// <summary>Sets the variable in the current flow to a value <see cref="TryRead"/> returned.</summary>
    public abstract void Set(object? value);

    /// <summary>The variable's current value as text (not yet percent-encoded); false when it is unset or null.</summary>
    public abstract bool TryGetText([NotNullWhen(true)] out string? text);

    /// <summary>
    /// Appends the variable's current value, percent-encoded; false (nothing appended) when it is unset, null, or cannot
    /// be sent (<paramref name="refusal"/> says why, or is null when the value is simply left out).
    /// </summary>
    public abstract bool TryAppendEncoded(System.Text.StringBuilder builder, out string? refusal);

    /// <summary>The variable's current value, boxed; null when unset.</summary>
    public abstract object? CurrentValue();

    /// <summary>Whether the variable's current value equals <paramref name="previous"/> (from <see cref="CurrentValue"/>), without boxing.</summary>
    public abstract bool HasValue(object? previous);

    /// <summary>What is wrong with the registration, for the options validator; null when nothing is.</summary>
    public string? Problem { get; protected init; }
}

/// <summary>A registered variable of type <typeparamref name="T"/>.</summary>
internal sealed class BaggageVariable<T> : BaggageVariable
{
    private readonly BaggageCodec<T> _codec;
    private readonly int _maxLength;
    private readonly Regex? _pattern;
    private readonly Func<T, bool>? _validate;
    private readonly string _typeName = Nullable.GetUnderlyingType(typeof(T)) is { } underlying ? underlying.Name : typeof(T).Name;

    public BaggageVariable(string key, ContextVar<T> variable, BaggageCodec<T> codec, BaggageVariableOptions<T> options)
        : base(key, variable, options.LogPropertyName)
    {
        _codec = codec;
        _maxLength = options.MaxLength;
        _validate = options.Validate;
        string? patternProblem = null;
        try
        {
            _pattern = options.CompilePattern();
        }
        catch (ArgumentException exception)
        {
            patternProblem = $"its Pattern is not a valid regular expression ({exception.Message})";
        }

        Problem = !W3CBaggage.IsToken(key)
            ? "its key must be a token (letters, digits and !#$%&'*+-.^_`|~)"
            : options.MaxLength is < 1 or > W3CBaggage.MaxBytes
                ? string.Create(CultureInfo.InvariantCulture, $"its MaxLength must be between 1 and {W3CBaggage.MaxBytes}; it is {options.MaxLength}")
                : options.LogPropertyName is { } name && string.IsNullOrWhiteSpace(name)
                    ? "its LogPropertyName must not be blank (null for none)"
                    : patternProblem;
    }

    public override void Set(object? value) => ((ContextVar<T>)Variable).Set((T)value!);

    public override bool TryRead(string text, out object? read, [NotNullWhen(false)] out string? reason)
    {
        read = null;
        if (text.Length == 0)
        {
            reason = "the value is empty";
            return false;
        }

        if (text.Length > _maxLength)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"the value is longer than {_maxLength} characters ({text.Length})");
            return false;
        }

        try
        {
            if (_pattern is not null && !_pattern.IsMatch(text))
            {
                reason = "the value does not match the pattern";
                return false;
            }
        }
        catch (RegexMatchTimeoutException)
        {
            reason = "matching the pattern timed out";
            return false;
        }

        T value;
        try
        {
            if (!_codec.TryParse(text, out value!) || value is null)
            {
                reason = $"the value is not a valid {_typeName}";
                return false;
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            reason = $"the codec threw {exception.GetType().Name} reading it";
            return false;
        }

        if (_validate is not null)
        {
            bool valid;
            try
            {
                valid = _validate(value);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                reason = $"the validation threw {exception.GetType().Name}";
                return false;
            }

            if (!valid)
            {
                reason = "the validation rejected the value";
                return false;
            }
        }

        read = value;
        reason = null;
        return true;
    }

    public override bool TryGetText([NotNullWhen(true)] out string? text)
    {
        if (((ContextVar<T>)Variable).TryGet(out var value) && value is not null && _codec.CanSend(value, out _))
        {
            return TryFormat(value, out text, out _);
        }

        text = null;
        return false;
    }

    public override bool TryAppendEncoded(System.Text.StringBuilder builder, out string? refusal)
    {
        refusal = null;
        if (!((ContextVar<T>)Variable).TryGet(out var value) || value is null || !_codec.CanSend(value, out refusal))
        {
            return false;
        }

        if (_codec.TryAppendPlain(value, builder))
        {
            return true;
        }

        if (!TryFormat(value, out var text, out refusal))
        {
            return false;
        }

        W3CBaggage.AppendEncoded(builder, text);
        return true;
    }

    /// <summary>The codec's text for a value; an exception (or null) leaves the member out.</summary>
    private bool TryFormat(T value, [NotNullWhen(true)] out string? text, out string? refusal)
    {
        refusal = null;
        try
        {
            text = _codec.Format(value);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            text = null;
            refusal = $"the codec threw {exception.GetType().Name} writing it";
            return false;
        }

        if (text is null)
        {
            refusal = "the codec wrote null";
            return false;
        }

        return true;
    }

    public override object? CurrentValue() => ((ContextVar<T>)Variable).TryGet(out var value) ? value : null;

    public override bool HasValue(object? previous) =>
        ((ContextVar<T>)Variable).TryGet(out var value) && value is not null
            ? previous is T known && EqualityComparer<T>.Default.Equals(value, known)
            : previous is null;
}

/// <summary>The built-in codecs.</summary>
internal static class BaggageCodecs
{
    public sealed class Text : BaggageCodec<string?>
    {
        public static readonly Text Instance = new();

        public override bool TryParse(string text, out string? value)
        {
            value = text;
            return true;
        }

        public override string Format(string? value) => value!;

        internal override bool CanSend(string? value, out string? reason)
        {
            reason = null;
            return !string.IsNullOrEmpty(value); // an empty value is read as no value: leave it out
        }
    }

    /// <summary>A type that parses and formats itself, with the invariant culture.</summary>
    public sealed class Parsable<T> : BaggageCodec<T>
        where T : ISpanParsable<T>
    {
        public static readonly Parsable<T> Instance = new();

        public override bool TryParse(string text, [MaybeNullWhen(false)] out T value)
        {
            if (typeof(T) == typeof(DateTime))
            {
                // "O" text keeps its kind (UTC, local or none) only when read with RoundtripKind.
                var parsed = DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var dateTime);
                value = parsed ? Unsafe.As<DateTime, T>(ref dateTime) : default;
                return parsed;
            }

            return T.TryParse(text, CultureInfo.InvariantCulture, out value);
        }

        // Round-trip formats where the invariant default loses something (fractions of a second, the last digits).
        public override string Format(T value) => value switch
        {
            bool flag => flag ? "true" : "false",
            DateTimeOffset or DateTime or DateOnly or TimeOnly => ((IFormattable)value).ToString("O", CultureInfo.InvariantCulture),
            double or float or Half => ((IFormattable)value).ToString("R", CultureInfo.InvariantCulture),
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };

        // The common types are written straight into the header: their text needs no encoding, and makes no string.
        internal override bool TryAppendPlain(T value, System.Text.StringBuilder builder)
        {
            Span<char> buffer = stackalloc char[40];
            int written;
            if (typeof(T) == typeof(int))
            {
                Unsafe.As<T, int>(ref value).TryFormat(buffer, out written, default, CultureInfo.InvariantCulture);
            }
            else if (typeof(T) == typeof(long))
            {
                Unsafe.As<T, long>(ref value).TryFormat(buffer, out written, default, CultureInfo.InvariantCulture);
            }
            else if (typeof(T) == typeof(Guid))
            {
                Unsafe.As<T, Guid>(ref value).TryFormat(buffer, out written);
            }
            else if (typeof(T) == typeof(bool))
            {
                builder.Append(Unsafe.As<T, bool>(ref value) ? "true" : "false");
                return true;
            }
            else
            {
                return false;
            }

            builder.Append(buffer[..written]);
            return true;
        }
    }

    /// <summary>A nullable value of a type that parses and formats itself.</summary>
    public sealed class NullableParsable<T> : BaggageCodec<T?>
        where T : struct, ISpanParsable<T>
    {
        public static readonly NullableParsable<T> Instance = new();

        public override bool TryParse(string text, out T? value)
        {
            var parsed = Parsable<T>.Instance.TryParse(text, out var result);
            value = parsed ? result : null;
            return parsed;
        }

        public override string Format(T? value) => Parsable<T>.Instance.Format(value!.Value);

        internal override bool CanSend(T? value, out string? reason) => Parsable<T>.Instance.CanSend(value!.Value, out reason);

        internal override bool TryAppendPlain(T? value, System.Text.StringBuilder builder) =>
            Parsable<T>.Instance.TryAppendPlain(value!.Value, builder);
    }

    /// <summary>An enum by the name of one of its defined values (any case in, the declared name out); numbers are refused.</summary>
    public sealed class Enumeration<TEnum> : BaggageCodec<TEnum>
        where TEnum : struct, Enum
    {
        public static readonly Enumeration<TEnum> Instance = new();

        public override bool TryParse(string text, out TEnum value) =>
            Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value) &&
            string.Equals(value.ToString(), text, StringComparison.OrdinalIgnoreCase); // a name, not a number or padded

        public override string Format(TEnum value) => value.ToString();

        internal override bool CanSend(TEnum value, out string? reason)
        {
            var defined = Enum.IsDefined(value);
            reason = defined ? null : $"the value is not one of {typeof(TEnum).Name}'s defined names, which receivers read";
            return defined;
        }
    }

    public sealed class NullableEnumeration<TEnum> : BaggageCodec<TEnum?>
        where TEnum : struct, Enum
    {
        public static readonly NullableEnumeration<TEnum> Instance = new();

        public override bool TryParse(string text, out TEnum? value)
        {
            var parsed = Enumeration<TEnum>.Instance.TryParse(text, out var result);
            value = parsed ? result : null;
            return parsed;
        }

        public override string Format(TEnum? value) => value!.Value.ToString();

        internal override bool CanSend(TEnum? value, out string? reason) => Enumeration<TEnum>.Instance.CanSend(value!.Value, out reason);
    }
}
