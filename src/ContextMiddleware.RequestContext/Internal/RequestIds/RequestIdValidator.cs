using System.Buffers;

namespace ContextMiddleware.AspNetCore.Internal.RequestIds;

/// <summary>Why an incoming request id was not used; never the value itself.</summary>
internal enum RequestIdProblem
{
    None,
    Empty,
    TooLong,
    InvalidCharacters,
    MultipleValues,
}

/// <summary>
/// The rules for request ids: 1 to <c>MaxRequestIdLength</c> characters from letters, digits and <c>-_.:/+=@</c>.
/// </summary>
internal static class RequestIdValidator
{
    private static readonly SearchValues<char> s_allowed =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/+=@");

    // Kept as ClientRequestId when not valid: visible ASCII without quotes, backslash, angle brackets and backtick.
    private static readonly SearchValues<char> s_safe =
        SearchValues.Create("!#$%&()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~");

    public static RequestIdProblem Validate(ReadOnlySpan<char> value, int maxLength)
    {
        if (value.IsEmpty)
        {
            return RequestIdProblem.Empty;
        }

        if (value.Length > maxLength)
        {
            return RequestIdProblem.TooLong;
        }

        return value.ContainsAnyExcept(s_allowed) ? RequestIdProblem.InvalidCharacters : RequestIdProblem.None;
    }

    /// <summary>Whether a value that is not a valid id may still be kept (and logged) as the client's id.</summary>
    public static bool IsSafeToKeep(ReadOnlySpan<char> value, int maxLength) =>
        !value.IsEmpty && value.Length <= maxLength && !value.ContainsAnyExcept(s_safe);

    /// <summary>
    /// The one decision about an incoming id, for HTTP headers and message headers alike: its problem, whether it is
    /// used as the request id, and what to keep as the client's id when it is not.
    /// </summary>
    /// <param name="value">The value; ignored when it came more than once.</param>
    /// <param name="valueCount">How many times the header came.</param>
    /// <param name="trusted">Whether the source is trusted.</param>
    /// <param name="maxLength">The longest accepted id.</param>
    public static (RequestIdProblem Problem, bool Accepted, string? ClientRequestId) Decide(
        string value, int valueCount, bool trusted, int maxLength)
    {
        if (valueCount != 1)
        {
            return (RequestIdProblem.MultipleValues, false, null);
        }

        var problem = Validate(value, maxLength);
        if (problem == RequestIdProblem.None && trusted)
        {
            return (problem, true, null);
        }

        var keep = problem == RequestIdProblem.None || IsSafeToKeep(value, maxLength);
        return (problem, false, keep ? value : null);
    }

    public static string Describe(RequestIdProblem problem, int maxLength) => problem switch
    {
        RequestIdProblem.Empty => "the value is empty",
        RequestIdProblem.TooLong => $"the value is longer than {maxLength} characters",
        RequestIdProblem.InvalidCharacters => "the value has characters other than letters, digits and -_.:/+=@",
        RequestIdProblem.MultipleValues => "the header was sent more than once",
        _ => "the value is valid",
    };
}
