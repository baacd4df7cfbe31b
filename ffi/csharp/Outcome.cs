// Calls that return their failure as a value instead of throwing it, for hosts that must not see the exception.
//
// Why: PowerShell records every exception a script catches on its way, in $Error and in a command's
// -ErrorVariable, before the one ErrorRecord the command itself writes ("Exception calling "AddKey" with "2"
// argument(s)", FullyQualifiedErrorId KeyrollException). A call made through Outcome.Call never throws into
// PowerShell: the module reads Ok / Value / Error and writes the command's own record, once.
//
// No logic lives here: it finds the method by name, converts plain arguments (a PowerShell [int] where the method
// takes long), invokes it and keeps what it returned or threw. Compiles with mcs (C# 6) and the .NET SDK.

using System;
using System.Reflection;

namespace Keyroll
{
    /// <summary>What a call returned, or what it failed with.</summary>
    public sealed class Outcome
    {
        /// <summary>True when the call returned.</summary>
        public bool Ok { get; private set; }
        /// <summary>What the call returned (null for void methods and failures).</summary>
        public object Value { get; private set; }
        /// <summary>What the call threw: a <see cref="KeyrollException"/> for the library's own errors.</summary>
        public Exception Error { get; private set; }

        Outcome() { }

        /// <summary>A returned value.</summary>
        public static Outcome Success(object value)
        {
            return new Outcome { Ok = true, Value = value };
        }

        /// <summary>A failure.</summary>
        public static Outcome Failure(Exception error)
        {
            return new Outcome { Ok = false, Error = error ?? new InvalidOperationException("the call failed without an exception") };
        }

        /// <summary>
        /// Calls the public method <paramref name="method"/> of <paramref name="target"/>: a static method when
        /// target is a <see cref="Type"/>, else an instance method of that object. Never throws.
        /// </summary>
        public static Outcome Call(object target, string method, object[] arguments)
        {
            try
            {
                if (target == null) throw new ArgumentNullException("target");
                if (string.IsNullOrEmpty(method)) throw new ArgumentNullException("method");
                target = Unwrap(target);
                var args = (object[])(arguments ?? new object[0]).Clone();
                for (int i = 0; i < args.Length; i++) args[i] = Unwrap(args[i]);
                var type = target as Type;
                var flags = BindingFlags.Public | (type != null ? BindingFlags.Static : BindingFlags.Instance);
                var on = type ?? target.GetType();
                Exception conversion = null;
                foreach (var candidate in on.GetMethods(flags))
                {
                    if (candidate.Name != method) continue;
                    var parameters = candidate.GetParameters();
                    if (parameters.Length != args.Length) continue;
                    object[] converted;
                    try
                    {
                        converted = Convert(parameters, args);
                    }
                    catch (Exception e)
                    {
                        conversion = e;
                        continue;
                    }
                    try
                    {
                        return Success(candidate.Invoke(type != null ? null : target, converted));
                    }
                    catch (TargetInvocationException e)
                    {
                        return Failure(e.InnerException ?? e);
                    }
                }
                if (conversion != null) return Failure(conversion);
                throw new MissingMethodException(on.FullName, method + " with " + args.Length + " argument(s)");
            }
            catch (Exception e)
            {
                return Failure(e);
            }
        }

        static object[] Convert(ParameterInfo[] parameters, object[] args)
        {
            var converted = new object[args.Length];
            for (int i = 0; i < args.Length; i++)
            {
                var want = parameters[i].ParameterType;
                var arg = args[i];
                if (arg == null)
                {
                    if (want.IsValueType && Nullable.GetUnderlyingType(want) == null)
                        throw new ArgumentException("argument " + (i + 1) + " (" + parameters[i].Name + ") cannot be null");
                    converted[i] = null;
                }
                else if (want.IsInstanceOfType(arg))
                {
                    converted[i] = arg;
                }
                else if (arg is IConvertible && (want.IsPrimitive || want == typeof(string) || want == typeof(decimal)))
                {
                    converted[i] = System.Convert.ChangeType(arg, want, System.Globalization.CultureInfo.InvariantCulture);
                }
                else
                {
                    throw new ArgumentException("argument " + (i + 1) + " (" + parameters[i].Name + ") is a " +
                        arg.GetType().FullName + ", not a " + want.FullName);
                }
            }
            return converted;
        }

        // A PowerShell PSObject around a value (arguments from a pipeline often arrive wrapped): its base object,
        // found by name so that this assembly needs no reference to System.Management.Automation.
        static object Unwrap(object value)
        {
            if (value == null) return null;
            var type = value.GetType();
            if (type.FullName != "System.Management.Automation.PSObject") return value;
            var baseObject = type.GetProperty("BaseObject");
            return baseObject == null ? value : baseObject.GetValue(value, null);
        }
    }
}
