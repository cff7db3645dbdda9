using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace ContextMiddleware.SignalR.Internal;

/// <summary>
/// Makes an <see cref="IAsyncEnumerable{T}"/> that a hub method returns run in the invocation's context: SignalR
/// enumerates it after the hub filters returned, in the connection's flow, where the invocation's context is not
/// current. (A <c>ChannelReader&lt;T&gt;</c> needs nothing: SignalR only reads it, and the code that writes it was
/// started by the hub method, in its context.)
/// </summary>
internal static class ContextStreams
{
    private static readonly ConcurrentDictionary<MethodInfo, Func<object, ExecutionContext, HubCallSource, object>?> s_wrappers = new();
    private static readonly MethodInfo s_create = typeof(ContextStreams).GetMethod(nameof(Create), BindingFlags.NonPublic | BindingFlags.Static)!;

    public static bool TryWrap(MethodInfo method, object result, HubCallSource invocation, out object wrapped)
    {
        wrapped = result;
        var wrapper = s_wrappers.GetOrAdd(method, static method => WrapperFor(method.ReturnType));
        if (wrapper is null || ExecutionContext.Capture() is not { } context)
        {
            return false;
        }

        wrapped = wrapper(result, context, invocation);
        return true;
    }

    // Native AOT and trimming: Create<T> is made for the stream's element type at run time. For a reference type that is
    // the one shared instantiation Native AOT always compiles; SignalR itself refuses a hub method that streams a value
    // type when dynamic code is not supported (at start-up, before any invocation reaches this), and such a stream is
    // left unwrapped here rather than failing. The interfaces read are those of the hub method's declared return type,
    // which SignalR enumerates through IAsyncEnumerable<T>, so the trimmer keeps that implementation.
    [UnconditionalSuppressMessage("AotAnalysis", "IL3050:RequiresDynamicCode", Justification = "Value types are excluded when dynamic code is not supported; reference types share one compiled instantiation.")]
    [UnconditionalSuppressMessage("Trimming", "IL2060:MakeGenericMethod", Justification = "Create<T> puts no trimming requirement on T.")]
    [UnconditionalSuppressMessage("Trimming", "IL2070:GetInterfaces", Justification = "SignalR enumerates the result through the IAsyncEnumerable<T> it implements, which is therefore kept.")]
    private static Func<object, ExecutionContext, HubCallSource, object>? WrapperFor(Type returnType)
    {
        if (returnType.IsGenericType && (returnType.GetGenericTypeDefinition() == typeof(Task<>) || returnType.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            returnType = returnType.GetGenericArguments()[0];
        }

        // The declared type, or an interface it implements (SignalR streams any type that implements it).
        var enumerable = IsAsyncEnumerable(returnType) ? returnType : returnType.GetInterfaces().FirstOrDefault(IsAsyncEnumerable);
        if (enumerable is null)
        {
            return null;
        }

        var element = enumerable.GetGenericArguments()[0];
        if (!RuntimeFeature.IsDynamicCodeSupported && element.IsValueType)
        {
            return null;
        }

        return s_create.MakeGenericMethod(element).CreateDelegate<Func<object, ExecutionContext, HubCallSource, object>>();
    }

#pragma warning disable CA1859 // The delegate made from it returns object: one delegate type for every T.
    private static bool IsAsyncEnumerable(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>);

    private static object Create<T>(object stream, ExecutionContext context, HubCallSource invocation) =>
        new ContextAsyncEnumerable<T>((IAsyncEnumerable<T>)stream, context, invocation);
#pragma warning restore CA1859

    /// <summary>The stream, enumerated in the invocation's context; the invocation ends when the enumerator is disposed.</summary>
    private sealed class ContextAsyncEnumerable<T>(IAsyncEnumerable<T> inner, ExecutionContext context, HubCallSource invocation) : IAsyncEnumerable<T>
    {
        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            var enumerator = new ContextAsyncEnumerator<T>(context, invocation);
            try
            {
                enumerator.Start(inner, cancellationToken);
            }
            catch
            {
                invocation.End();
                throw;
            }

            return enumerator;
        }
    }

    /// <summary>Runs each step of the inner enumerator in the invocation's <see cref="ExecutionContext"/>.</summary>
#pragma warning disable CA2012 // Each ValueTask is moved out of its field once and consumed once by the caller.
    private sealed class ContextAsyncEnumerator<T>(ExecutionContext context, HubCallSource invocation) : IAsyncEnumerator<T>
    {
        private static readonly ContextCallback s_start = static state =>
        {
            var self = (ContextAsyncEnumerator<T>)state!;
            self._inner = self._source!.GetAsyncEnumerator(self._token);
        };

        private static readonly ContextCallback s_moveNext = static state =>
        {
            var self = (ContextAsyncEnumerator<T>)state!;
            self._moveNext = self._inner!.MoveNextAsync();
        };

        private static readonly ContextCallback s_dispose = static state =>
        {
            var self = (ContextAsyncEnumerator<T>)state!;
            self._dispose = self._inner!.DisposeAsync();
        };

        private IAsyncEnumerable<T>? _source;
        private CancellationToken _token;
        private IAsyncEnumerator<T>? _inner;
        private ValueTask<bool> _moveNext;
        private ValueTask _dispose;

        public T Current => _inner!.Current;

        public void Start(IAsyncEnumerable<T> source, CancellationToken token)
        {
            (_source, _token) = (source, token);
            ExecutionContext.Run(context, s_start, this);
            _source = null;
        }

        public ValueTask<bool> MoveNextAsync()
        {
            ExecutionContext.Run(context, s_moveNext, this);
            var result = _moveNext;
            _moveNext = default;
            return result;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                ExecutionContext.Run(context, s_dispose, this);
                await _dispose.ConfigureAwait(false);
            }
            finally
            {
                invocation.End();
            }
        }
    }
#pragma warning restore CA2012
}
