using System.Net;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Trust;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.RequestIds;

/// <summary>What <see cref="RequestIdResolver"/> decided about an incoming request id.</summary>
internal readonly record struct ResolvedRequestId(
    string RequestId,
    string? ClientRequestId,
    string? HeaderName,
    RequestIdProblem Problem,
    bool Trusted,
    bool Rejected,
    RequestIdProblem GeneratorProblem,
    Exception? TrustFailure = null);

/// <summary>
/// The one decision about a request id, for HTTP requests, live calls and messages alike: the headers it is read
/// from, the trust policy, the validation rules, the generator, and what is logged about it.
/// </summary>
internal sealed class RequestIdResolver(
    RequestContextSettings settings,
    IRequestContextTrustPolicy trust,
    ILogger<RequestIdResolver> logger)
{
    public RequestContextSettings Settings => settings;

    /// <param name="carrier">The headers.</param>
    /// <param name="getter">Reads a header's values.</param>
    /// <param name="remoteAddress">The caller's address; null for messages.</param>
    /// <param name="newTraceId">The trace id when the call starts a new trace: the default fresh id (128 random bits already made).</param>
    /// <param name="canReject">Whether the transport can refuse the call (HTTP, live calls), so that
    /// <see cref="RequestContextOptions.RejectInvalidRequestIds"/> applies.</param>
    public ResolvedRequestId Resolve<TCarrier>(
        TCarrier carrier, Func<TCarrier, string, StringValues> getter, IPAddress? remoteAddress, string? newTraceId, bool canReject)
    {
        RequestIdProblem generatorProblem;
        foreach (var headerName in settings.RequestIdHeaders)
        {
            var values = getter(carrier, headerName);
            if (values.Count == 0)
            {
                continue;
            }

            var value = values.Count == 1 ? values[0] ?? string.Empty : string.Empty;
            Exception? trustFailure = null;
            var trusted = TrustPolicy.Ask(trust, IncomingValue.RequestId, remoteAddress, ref trustFailure);
            var (problem, accepted, clientRequestId) = RequestIdValidator.Decide(value, values.Count, trusted, settings.MaxRequestIdLength);
            if (accepted)
            {
                return new ResolvedRequestId(value, null, headerName, RequestIdProblem.None, true, false, RequestIdProblem.None);
            }

            var generated = Generate(newTraceId, out generatorProblem);
            var rejected = trusted && canReject && settings.RejectInvalidRequestIds;
            return new ResolvedRequestId(generated, clientRequestId, headerName, problem, trusted, rejected, generatorProblem, trustFailure);
        }

        return new ResolvedRequestId(Generate(newTraceId, out generatorProblem), null, null, RequestIdProblem.None, false, false, generatorProblem);
    }

    /// <summary>
    /// Whether the trace headers of a call are believed (<see cref="TrustPolicy.Ask"/>: a policy that throws is answered
    /// "not trusted"; its exception is logged by <see cref="LogOutcome"/>).
    /// </summary>
    public bool TrustsTraceContext(IPAddress? remoteAddress, ref Exception? failure) =>
        TrustPolicy.Ask(trust, IncomingValue.TraceContext, remoteAddress, ref failure);

    /// <summary>Whether the baggage of a call is believed (<see cref="TrustPolicy.Ask"/>, failing closed).</summary>
    public bool TrustsBaggage(IPAddress? remoteAddress, ref Exception? failure) =>
        TrustPolicy.Ask(trust, IncomingValue.Baggage, remoteAddress, ref failure);

    /// <summary>Whether the user id a message carries is believed (messages only: no address; failing closed).</summary>
    public bool TrustsMessageUserId(ref Exception? failure) =>
        TrustPolicy.Ask(trust, IncomingValue.UserId, null, ref failure);

    /// <summary>The logger of the request context's records.</summary>
    public ILogger Logger => logger;

    /// <summary>Logs what was decided; called where the new request's context is current, so the records carry it.</summary>
    /// <param name="resolved">The request id decided.</param>
    /// <param name="remoteAddress">The caller's address; null for messages.</param>
    /// <param name="traceTrustFailure">The exception the trust policy threw about the trace headers, if it did. A policy
    /// that fails is logged once per call: a policy that cannot answer one question cannot answer the other.</param>
    /// <param name="failedValue">What the policy was asked about when it threw <paramref name="traceTrustFailure"/>.</param>
    public void LogOutcome(
        in ResolvedRequestId resolved, IPAddress? remoteAddress, Exception? traceTrustFailure = null, IncomingValue failedValue = IncomingValue.TraceContext)
    {
        // One record per call for a failing policy, whichever questions it failed (trace headers are asked first).
        if (traceTrustFailure is not null)
        {
            Log.TrustPolicyFailed(logger, failedValue, traceTrustFailure);
        }
        else if (resolved.TrustFailure is not null)
        {
            Log.TrustPolicyFailed(logger, IncomingValue.RequestId, resolved.TrustFailure);
        }

        if (resolved.GeneratorProblem != RequestIdProblem.None)
        {
            Log.InvalidGeneratedRequestId(logger, RequestIdValidator.Describe(resolved.GeneratorProblem, settings.MaxRequestIdLength));
        }

        if (resolved.HeaderName is not { } headerName || resolved.Problem == RequestIdProblem.None && resolved.Trusted)
        {
            return;
        }

        if (!resolved.Trusted)
        {
            Log.UntrustedRequestId(logger, headerName, remoteAddress, resolved.RequestId);
        }
        else if (resolved.Rejected)
        {
            Log.RejectedRequestId(logger, headerName, Describe(resolved.Problem));
        }
        else
        {
            Log.InvalidRequestId(logger, headerName, resolved.RequestId, Describe(resolved.Problem));
        }
    }

    /// <summary>Why a call was rejected, safe to show the caller: the header and the rule, never the value.</summary>
    public string RejectionDetail(in ResolvedRequestId resolved) =>
        $"The request id in header '{resolved.HeaderName}' is invalid: {Describe(resolved.Problem)}.";

    /// <summary>
    /// A fresh id. Without a custom generator, a call that starts a new trace takes its trace id: 128 fresh random bits
    /// in the same format, made already, and one id to search for.
    /// </summary>
    private string Generate(string? newTraceId, out RequestIdProblem generatorProblem)
    {
        generatorProblem = RequestIdProblem.None;
        if (settings.Generator is not { } generator)
        {
            return newTraceId ?? NewRandomId();
        }

        var id = generator();
        generatorProblem = id is null ? RequestIdProblem.Empty : RequestIdValidator.Validate(id, settings.MaxRequestIdLength);
        return generatorProblem == RequestIdProblem.None ? id! : NewRandomId();
    }

    private string Describe(RequestIdProblem problem) => RequestIdValidator.Describe(problem, settings.MaxRequestIdLength);

    /// <summary>128 random bits as 32 lower-case hex characters.</summary>
    public static string NewRandomId() => System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
}
