using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace ContextMiddleware.Internal;

/// <summary>
/// An immutable hash array mapped trie (HAMT) from <see cref="ContextVar"/> to its value, the structure
/// CPython's <c>contextvars</c> uses (Python/hamt.c). Every update returns a new map that shares all
/// untouched nodes with the old one, so an update costs O(log32 n) allocations and copying a map is free.
/// </summary>
/// <remarks>
/// Keys are compared by reference. Each <see cref="ContextVar"/> carries a precomputed 32-bit hash made from
/// a process-wide sequence number by a bijective mix, so two variables share a hash only after 2^32 variables
/// have been created; the rare collision is still handled by <see cref="CollisionNode"/>.
/// The map never stores a default value: only values that were set.
/// </remarks>
internal sealed class PersistentMap
{
    private const int BitsPerLevel = 5;
    private const int LevelMask = (1 << BitsPerLevel) - 1;

    /// <summary>The empty map.</summary>
    public static readonly PersistentMap Empty = new(BitmapNode.Empty, 0);

    private readonly Node _root;

    private PersistentMap(Node root, int count)
    {
        _root = root;
        Count = count;
    }

    /// <summary>Gets the number of variables set in this map.</summary>
    public int Count { get; }

    /// <summary>Looks a variable up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(ContextVar key, out object? value)
    {
        var hash = key.Hash;
        var node = _root;
        var shift = 0;
        while (true)
        {
            if (node is BitmapNode bitmapNode)
            {
                var bit = 1u << (int)((hash >> shift) & LevelMask);
                if ((bitmapNode.Bitmap & bit) == 0)
                {
                    break;
                }

                ref readonly var entry = ref bitmapNode.Entries[BitOperations.PopCount(bitmapNode.Bitmap & (bit - 1))];
                if (ReferenceEquals(entry.Key, key))
                {
                    value = entry.Value;
                    return true;
                }

                if (entry.Key is not null)
                {
                    break;
                }

                node = Unsafe.As<Node>(entry.Value)!;
                shift += BitsPerLevel;
            }
            else
            {
                return Unsafe.As<CollisionNode>(node).TryGetValue(key, out value);
            }
        }

        value = null;
        return false;
    }

    /// <summary>Returns a map in which <paramref name="key"/> maps to <paramref name="value"/>.</summary>
    public PersistentMap SetItem(ContextVar key, object? value)
    {
        var root = _root.Set(0, key.Hash, key, value, out var added);
        return new PersistentMap(root, added ? Count + 1 : Count);
    }

    /// <summary>Returns a map without <paramref name="key"/> (this map when the key is absent).</summary>
    public PersistentMap Remove(ContextVar key)
    {
        var root = _root.Remove(0, key.Hash, key, out var removed);
        if (!removed)
        {
            return this;
        }

        return Count == 1 ? Empty : new PersistentMap(root ?? BitmapNode.Empty, Count - 1);
    }

    /// <summary>Enumerates the entries in an unspecified but stable order.</summary>
    public IEnumerable<KeyValuePair<ContextVar, object?>> Enumerate()
    {
        if (Count == 0)
        {
            yield break;
        }

        var stack = new Stack<(Node Node, int Index)>();
        stack.Push((_root, 0));
        while (stack.Count > 0)
        {
            var (node, index) = stack.Pop();
            var entries = node.Entries;
            if (index >= entries.Length)
            {
                continue;
            }

            stack.Push((node, index + 1));
            var entry = entries[index];
            if (entry.Key is null)
            {
                stack.Push(((Node)entry.Value!, 0));
            }
            else
            {
                yield return new KeyValuePair<ContextVar, object?>(entry.Key, entry.Value);
            }
        }
    }

    /// <summary>One slot of a node: a key and its value, or (key null) a child node.</summary>
    internal readonly struct Entry(ContextVar? key, object? value)
    {
        public readonly ContextVar? Key = key;
        public readonly object? Value = value;
    }

    internal abstract class Node(Entry[] entries)
    {
        public readonly Entry[] Entries = entries;

        public abstract Node Set(int shift, uint hash, ContextVar key, object? value, out bool added);

        public abstract Node? Remove(int shift, uint hash, ContextVar key, out bool removed);

        protected static Entry[] Replace(Entry[] entries, int index, Entry entry)
        {
            var copy = (Entry[])entries.Clone();
            copy[index] = entry;
            return copy;
        }

        protected static Entry[] Insert(Entry[] entries, int index, Entry entry)
        {
            var copy = new Entry[entries.Length + 1];
            Array.Copy(entries, 0, copy, 0, index);
            copy[index] = entry;
            Array.Copy(entries, index, copy, index + 1, entries.Length - index);
            return copy;
        }

        protected static Entry[] RemoveAt(Entry[] entries, int index)
        {
            var copy = new Entry[entries.Length - 1];
            Array.Copy(entries, 0, copy, 0, index);
            Array.Copy(entries, index + 1, copy, index, entries.Length - index - 1);
            return copy;
        }
    }

    /// <summary>An inner node: a 32-bit bitmap says which of the 32 slots of this level are present.</summary>
    internal sealed class BitmapNode(uint bitmap, Entry[] entries) : Node(entries)
    {
        public static readonly BitmapNode Empty = new(0, []);

        public readonly uint Bitmap = bitmap;

        public override Node Set(int shift, uint hash, ContextVar key, object? value, out bool added)
        {
            var bit = 1u << (int)((hash >> shift) & LevelMask);
            var index = BitOperations.PopCount(Bitmap & (bit - 1));
            if ((Bitmap & bit) == 0)
            {
                added = true;
                return new BitmapNode(Bitmap | bit, Insert(Entries, index, new Entry(key, value)));
            }

            var entry = Entries[index];
            if (entry.Key is null)
            {
                var child = (Node)entry.Value!;
                var newChild = child.Set(shift + BitsPerLevel, hash, key, value, out added);
                return new BitmapNode(Bitmap, Replace(Entries, index, new Entry(null, newChild)));
            }

            if (ReferenceEquals(entry.Key, key))
            {
                added = false;
                return new BitmapNode(Bitmap, Replace(Entries, index, new Entry(key, value)));
            }

            // Two different keys share this slot: push both one level down.
            added = true;
            var subNode = CreatePair(shift + BitsPerLevel, entry.Key, entry.Value, hash, key, value);
            return new BitmapNode(Bitmap, Replace(Entries, index, new Entry(null, subNode)));
        }

        public override Node? Remove(int shift, uint hash, ContextVar key, out bool removed)
        {
            var bit = 1u << (int)((hash >> shift) & LevelMask);
            if ((Bitmap & bit) == 0)
            {
                removed = false;
                return this;
            }

            var index = BitOperations.PopCount(Bitmap & (bit - 1));
            var entry = Entries[index];
            if (entry.Key is null)
            {
                var child = (Node)entry.Value!;
                var newChild = child.Remove(shift + BitsPerLevel, hash, key, out removed);
                if (!removed)
                {
                    return this;
                }

                if (newChild is null)
                {
                    return Without(bit, index);
                }

                // A child left with a single key is folded back into this level.
                if (newChild.Entries.Length == 1 && newChild.Entries[0].Key is not null)
                {
                    return new BitmapNode(Bitmap, Replace(Entries, index, newChild.Entries[0]));
                }

                return new BitmapNode(Bitmap, Replace(Entries, index, new Entry(null, newChild)));
            }

            if (!ReferenceEquals(entry.Key, key))
            {
                removed = false;
                return this;
            }

            removed = true;
            return Without(bit, index);
        }

        private BitmapNode? Without(uint bit, int index) =>
            Entries.Length == 1 ? null : new BitmapNode(Bitmap & ~bit, RemoveAt(Entries, index));

        private static Node CreatePair(int shift, ContextVar key1, object? value1, uint hash2, ContextVar key2, object? value2)
        {
            var hash1 = key1.Hash;
            if (hash1 == hash2 || shift >= 32)
            {
                return new CollisionNode(hash2, [new Entry(key1, value1), new Entry(key2, value2)]);
            }

            var index1 = (hash1 >> shift) & LevelMask;
            var index2 = (hash2 >> shift) & LevelMask;
            if (index1 == index2)
            {
                var child = CreatePair(shift + BitsPerLevel, key1, value1, hash2, key2, value2);
                return new BitmapNode(1u << (int)index1, [new Entry(null, child)]);
            }

            Entry[] entries = index1 < index2
                ? [new Entry(key1, value1), new Entry(key2, value2)]
                : [new Entry(key2, value2), new Entry(key1, value1)];
            return new BitmapNode((1u << (int)index1) | (1u << (int)index2), entries);
        }
    }

    /// <summary>Keys whose 32-bit hashes are equal: a short list searched linearly.</summary>
    internal sealed class CollisionNode(uint hash, Entry[] entries) : Node(entries)
    {
        public readonly uint Hash = hash;

        public bool TryGetValue(ContextVar key, [MaybeNullWhen(false)] out object? value)
        {
            foreach (var entry in Entries)
            {
                if (ReferenceEquals(entry.Key, key))
                {
                    value = entry.Value;
                    return true;
                }
            }

            value = null;
            return false;
        }

        public override Node Set(int shift, uint hash, ContextVar key, object? value, out bool added)
        {
            if (hash != Hash)
            {
                // A key with another hash reached this level: split into a bitmap node holding both.
                added = true;
                var thisIndex = (Hash >> shift) & LevelMask;
                var keyIndex = (hash >> shift) & LevelMask;
                if (thisIndex == keyIndex)
                {
                    var child = Set(shift + BitsPerLevel, hash, key, value, out _);
                    return new BitmapNode(1u << (int)thisIndex, [new Entry(null, child)]);
                }

                Entry[] pair = thisIndex < keyIndex
                    ? [new Entry(null, this), new Entry(key, value)]
                    : [new Entry(key, value), new Entry(null, this)];
                return new BitmapNode((1u << (int)thisIndex) | (1u << (int)keyIndex), pair);
            }

            for (var i = 0; i < Entries.Length; i++)
            {
                if (ReferenceEquals(Entries[i].Key, key))
                {
                    added = false;
                    return new CollisionNode(Hash, Replace(Entries, i, new Entry(key, value)));
                }
            }

            added = true;
            return new CollisionNode(Hash, Insert(Entries, Entries.Length, new Entry(key, value)));
        }

        public override Node? Remove(int shift, uint hash, ContextVar key, out bool removed)
        {
            for (var i = 0; i < Entries.Length; i++)
            {
                if (ReferenceEquals(Entries[i].Key, key))
                {
                    removed = true;
                    return Entries.Length == 1 ? null : new CollisionNode(Hash, RemoveAt(Entries, i));
                }
            }

            removed = false;
            return this;
        }
    }
}
