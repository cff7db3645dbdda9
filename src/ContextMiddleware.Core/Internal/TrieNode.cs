using System.Numerics;

namespace ContextMiddleware.Internal;

/// <summary>A node of the persistent hash array mapped trie behind <see cref="Scope"/>.</summary>
internal abstract class TrieNode(TrieNode.Entry[] entries)
{
    public const int BitsPerLevel = 5;
    public const int LevelMask = (1 << BitsPerLevel) - 1;

    /// <summary>The node's slots, never mutated after construction.</summary>
    public readonly Entry[] Entries = entries;

    public abstract TrieNode Set(int shift, uint hash, ContextVar key, object? value, out bool added);

    /// <summary>Returns the node without the key, <see langword="null"/> when it becomes empty.</summary>
    public abstract TrieNode? Remove(int shift, uint hash, ContextVar key, out bool removed);

    private protected static Entry[] Replace(Entry[] entries, int index, Entry entry)
    {
        var copy = new Entry[entries.Length];
        entries.AsSpan().CopyTo(copy);
        copy[index] = entry;
        return copy;
    }

    private protected static Entry[] Insert(Entry[] entries, int index, Entry entry)
    {
        var copy = new Entry[entries.Length + 1];
        Array.Copy(entries, 0, copy, 0, index);
        copy[index] = entry;
        Array.Copy(entries, index, copy, index + 1, entries.Length - index);
        return copy;
    }

    private protected static Entry[] RemoveAt(Entry[] entries, int index)
    {
        var copy = new Entry[entries.Length - 1];
        Array.Copy(entries, 0, copy, 0, index);
        Array.Copy(entries, index + 1, copy, index, entries.Length - index - 1);
        return copy;
    }

    /// <summary>One slot of a node: a key and its value, or (key null) a child node.</summary>
    internal readonly struct Entry(ContextVar? key, object? value)
    {
        public readonly ContextVar? Key = key;
        public readonly object? Value = value;
    }

    /// <summary>An inner node: a 32-bit bitmap says which of the 32 slots of this level are present.</summary>
    internal class Bitmap(uint bits, Entry[] entries) : TrieNode(entries)
    {
        public readonly uint Bits = bits;

        public sealed override TrieNode Set(int shift, uint hash, ContextVar key, object? value, out bool added)
        {
            var (bits, entries) = WithKey(Bits, Entries, shift, hash, key, value, out added);
            return new Bitmap(bits, entries);
        }

        public sealed override TrieNode? Remove(int shift, uint hash, ContextVar key, out bool removed)
        {
            var (bits, entries) = WithoutKey(shift, hash, key, out removed);
            if (!removed)
            {
                return this;
            }

            return entries.Length == 0 ? null : new Bitmap(bits, entries);
        }

        /// <summary>The bitmap and slots of a node (<paramref name="bits"/>, <paramref name="entries"/>) with the key set.</summary>
        protected static (uint Bits, Entry[] Entries) WithKey(uint bits, Entry[] entries, int shift, uint hash, ContextVar key, object? value, out bool added)
        {
            var bit = 1u << (int)((hash >> shift) & LevelMask);
            var index = BitOperations.PopCount(bits & (bit - 1));
            if ((bits & bit) == 0)
            {
                added = true;
                return (bits | bit, Insert(entries, index, new Entry(key, value)));
            }

            var entry = entries[index];
            if (entry.Key is null)
            {
                var child = ((TrieNode)entry.Value!).Set(shift + BitsPerLevel, hash, key, value, out added);
                return (bits, Replace(entries, index, new Entry(null, child)));
            }

            if (ReferenceEquals(entry.Key, key))
            {
                added = false;
                return (bits, Replace(entries, index, new Entry(key, value)));
            }

            // Two different keys share this slot: push both one level down.
            added = true;
            var pair = CreatePair(shift + BitsPerLevel, entry.Key, entry.Value, hash, key, value);
            return (bits, Replace(entries, index, new Entry(null, pair)));
        }

        /// <summary>The bitmap and slots of this node without the key.</summary>
        protected (uint Bits, Entry[] Entries) WithoutKey(int shift, uint hash, ContextVar key, out bool removed)
        {
            var bit = 1u << (int)((hash >> shift) & LevelMask);
            removed = false;
            if ((Bits & bit) == 0)
            {
                return (Bits, Entries);
            }

            var index = BitOperations.PopCount(Bits & (bit - 1));
            var entry = Entries[index];
            if (entry.Key is null)
            {
                var child = (TrieNode)entry.Value!;
                var newChild = child.Remove(shift + BitsPerLevel, hash, key, out removed);
                if (!removed)
                {
                    return (Bits, Entries);
                }

                if (newChild is null)
                {
                    return (Bits & ~bit, RemoveAt(Entries, index));
                }

                // A child left with a single key is folded back into this level.
                var folded = newChild.Entries.Length == 1 && newChild.Entries[0].Key is not null
                    ? newChild.Entries[0]
                    : new Entry(null, newChild);
                return (Bits, Replace(Entries, index, folded));
            }

            if (!ReferenceEquals(entry.Key, key))
            {
                return (Bits, Entries);
            }

            removed = true;
            return (Bits & ~bit, RemoveAt(Entries, index));
        }

        private static TrieNode CreatePair(int shift, ContextVar key1, object? value1, uint hash2, ContextVar key2, object? value2)
        {
            var hash1 = key1.Hash;
            if (hash1 == hash2)
            {
                return new Collision(hash1, [new Entry(key1, value1), new Entry(key2, value2)]);
            }

            var index1 = (hash1 >> shift) & LevelMask;
            var index2 = (hash2 >> shift) & LevelMask;
            if (index1 == index2)
            {
                var child = CreatePair(shift + BitsPerLevel, key1, value1, hash2, key2, value2);
                return new Bitmap(1u << (int)index1, [new Entry(null, child)]);
            }

            Entry[] entries = index1 < index2
                ? [new Entry(key1, value1), new Entry(key2, value2)]
                : [new Entry(key2, value2), new Entry(key1, value1)];
            return new Bitmap((1u << (int)index1) | (1u << (int)index2), entries);
        }
    }

    /// <summary>Keys whose 32-bit hashes are all equal: a short list searched linearly.</summary>
    internal sealed class Collision(uint hash, Entry[] entries) : TrieNode(entries)
    {
        public readonly uint Hash = hash;

        public bool TryGetValue(ContextVar key, out object? value)
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

        public override TrieNode Set(int shift, uint hash, ContextVar key, object? value, out bool added)
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
                    return new Bitmap(1u << (int)thisIndex, [new Entry(null, child)]);
                }

                Entry[] pair = thisIndex < keyIndex
                    ? [new Entry(null, this), new Entry(key, value)]
                    : [new Entry(key, value), new Entry(null, this)];
                return new Bitmap((1u << (int)thisIndex) | (1u << (int)keyIndex), pair);
            }

            for (var i = 0; i < Entries.Length; i++)
            {
                if (ReferenceEquals(Entries[i].Key, key))
                {
                    added = false;
                    return new Collision(Hash, Replace(Entries, i, new Entry(key, value)));
                }
            }

            added = true;
            return new Collision(Hash, Insert(Entries, Entries.Length, new Entry(key, value)));
        }

        public override TrieNode? Remove(int shift, uint hash, ContextVar key, out bool removed)
        {
            for (var i = 0; i < Entries.Length; i++)
            {
                if (ReferenceEquals(Entries[i].Key, key))
                {
                    removed = true;
                    return Entries.Length == 1 ? null : new Collision(Hash, RemoveAt(Entries, i));
                }
            }

            removed = false;
            return this;
        }
    }
}
