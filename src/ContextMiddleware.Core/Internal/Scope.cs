using System.Numerics;
using System.Runtime.CompilerServices;

namespace ContextMiddleware.Internal;

/// <summary>
/// The immutable value held by the engine's single <see cref="AsyncLocal{T}"/>: the variables set in a flow,
/// as the root of a hash array mapped trie (HAMT, the structure behind CPython's <c>contextvars</c>), plus the
/// <see cref="Context"/> whose <see cref="Context.Run(Action)"/> the flow descends from.
/// </summary>
/// <remarks>
/// <para>
/// Every update returns a new scope that shares all untouched nodes with the old one: an update costs
/// O(log32 n) small allocations, and copying a scope is free. Because the value is immutable,
/// ExecutionContext's copy-on-capture semantics give every child task a snapshot, and no write made in a child
/// can reach its parent or a sibling.
/// </para>
/// <para>
/// The scope is itself the trie's root node, which saves an allocation on every set. Keys are compared by
/// reference; each <see cref="ContextVar"/> carries a precomputed, well-spread 32-bit hash. The trie never stores
/// a default value, only values that were set.
/// </para>
/// </remarks>
internal sealed class Scope : TrieNode.Bitmap
{
    /// <summary>The empty scope outside any context.</summary>
    public static readonly Scope Empty = new(0, [], 0, null);

    private Scope(uint bitmap, TrieNode.Entry[] entries, int count, Context? owner)
        : base(bitmap, entries)
    {
        Count = count;
        Owner = owner;
    }

    /// <summary>Gets the number of variables set.</summary>
    public int Count { get; }

    /// <summary>Gets the context entered by <c>Context.Run</c>, or <see langword="null"/> outside any.</summary>
    public Context? Owner { get; }

    /// <summary>Looks a variable up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(ContextVar key, out object? value)
    {
        var hash = key.Hash;
        TrieNode.Bitmap node = this;
        var shift = 0;
        while (true)
        {
            var bit = 1u << (int)((hash >> shift) & TrieNode.LevelMask);
            if ((node.Bits & bit) == 0)
            {
                value = null;
                return false;
            }

            ref readonly var entry = ref node.Entries[BitOperations.PopCount(node.Bits & (bit - 1))];
            if (ReferenceEquals(entry.Key, key))
            {
                value = entry.Value;
                return true;
            }

            if (entry.Key is not null)
            {
                value = null;
                return false;
            }

            var child = Unsafe.As<TrieNode>(entry.Value)!;
            if (child is TrieNode.Collision collision) // a sealed type: one method-table compare
            {
                return collision.TryGetValue(key, out value);
            }

            node = Unsafe.As<TrieNode.Bitmap>(child);
            shift += TrieNode.BitsPerLevel;
        }
    }

    /// <summary>Returns a scope in which <paramref name="key"/> maps to <paramref name="value"/>.</summary>
    public Scope SetItem(ContextVar key, object? value)
    {
        var (bits, entries) = WithKey(Bits, Entries, 0, key.Hash, key, value, out var added);
        return new Scope(bits, entries, added ? Count + 1 : Count, Owner);
    }

    /// <summary>Returns a scope in which each key of <paramref name="items"/> maps to its value.</summary>
    public Scope SetItems(ReadOnlySpan<TrieNode.Entry> items)
    {
        if (Count == 0 && TryBuildFlat(items, out var flatBits, out var flatEntries))
        {
            return new Scope(flatBits, flatEntries, items.Length, Owner);
        }

        var (bits, entries, count) = (Bits, Entries, Count);
        foreach (var item in items)
        {
            (bits, entries) = WithKey(bits, entries, 0, item.Key!.Hash, item.Key, item.Value, out var added);
            if (added)
            {
                count++;
            }
        }

        return new Scope(bits, entries, count, Owner);
    }

    /// <summary>
    /// Builds a one-level trie directly when the keys fall in distinct root slots (the common case for a few keys),
    /// instead of copying the slot array once per key.
    /// </summary>
    private static bool TryBuildFlat(ReadOnlySpan<TrieNode.Entry> items, out uint bits, out TrieNode.Entry[] entries)
    {
        bits = 0;
        entries = [];
        foreach (var item in items)
        {
            var bit = 1u << (int)(item.Key!.Hash & TrieNode.LevelMask);
            if ((bits & bit) != 0)
            {
                return false;
            }

            bits |= bit;
        }

        entries = new TrieNode.Entry[items.Length];
        foreach (var item in items)
        {
            var bit = 1u << (int)(item.Key!.Hash & TrieNode.LevelMask);
            entries[BitOperations.PopCount(bits & (bit - 1))] = item;
        }

        return true;
    }

    /// <summary>Returns a scope without <paramref name="key"/> (this scope when the key is absent).</summary>
    public Scope Remove(ContextVar key)
    {
        var (bits, entries) = WithoutKey(0, key.Hash, key, out var removed);
        return removed ? new Scope(bits, entries, Count - 1, Owner) : this;
    }

    /// <summary>Returns a scope with the same values, owned by <paramref name="owner"/>.</summary>
    public Scope WithOwner(Context? owner) =>
        ReferenceEquals(owner, Owner) ? this : new Scope(Bits, Entries, Count, owner);

    /// <summary>Enumerates the entries in an unspecified but stable order.</summary>
    public IEnumerable<KeyValuePair<ContextVar, object?>> Enumerate()
    {
        if (Count == 0)
        {
            yield break;
        }

        var stack = new Stack<(TrieNode Node, int Index)>();
        stack.Push((this, 0));
        while (stack.Count > 0)
        {
            var (node, index) = stack.Pop();
            if (index >= node.Entries.Length)
            {
                continue;
            }

            stack.Push((node, index + 1));
            var entry = node.Entries[index];
            if (entry.Key is null)
            {
                stack.Push(((TrieNode)entry.Value!, 0));
            }
            else
            {
                yield return new KeyValuePair<ContextVar, object?>(entry.Key, entry.Value);
            }
        }
    }
}
