import { parsePhoneNumberFromString, isSupportedCountry } from 'libphonenumber-js/max';

import type { PiiType } from './detectors';

/**
 * Masks a detected value for findings, logs and evidence: only the last 4 digits of a card or SSN,
 * the first character and domain of an e-mail, the country and area code plus the last 2 digits of a
 * phone, the country and check digits plus the last 4 characters of an IBAN.
 */
export function maskValue(type: PiiType, value: string, phoneRegion = 'US'): string {
	switch (type) {
		case 'payment_card':
			return maskCard(value);
		case 'us_ssn':
			return maskSsn(value);
		case 'email':
			return maskEmail(value);
		case 'phone':
			return maskPhone(value, phoneRegion);
		case 'iban':
			return maskIban(value);
		case 'custom':
			return maskCustom(value);
	}
}

function maskCard(value: string): string {
	const digits = value.replace(/\D/g, '');
	if (digits.length <= 4) return '*'.repeat(digits.length);
	return groupFromRight('*'.repeat(digits.length - 4) + digits.slice(-4), 4);
}

function maskSsn(value: string): string {
	const digits = value.replace(/\D/g, '');
	return `***-**-${digits.length >= 4 ? digits.slice(-4) : '****'}`;
}

function maskEmail(value: string): string {
	const at = value.lastIndexOf('@');
	if (at < 0) return '***';
	const local = value.slice(0, at);
	const domain = value.slice(at + 1);
	// A one- or two-character local part would be fully revealed by its first character.
	return `${local.length > 2 ? local[0] : ''}***@${domain}`;
}

/** `+1 415-***-**32` for NANP numbers; other regions keep only the country code and the last 2 digits. */
export function maskPhoneParts(countryCallingCode: string, nationalNumber: string): string {
	if (nationalNumber.length <= 2)
		return `+${countryCallingCode} ${'*'.repeat(nationalNumber.length)}`;
	const last2 = nationalNumber.slice(-2);
	if (countryCallingCode === '1' && nationalNumber.length === 10) {
		return `+1 ${nationalNumber.slice(0, 3)}-***-**${last2}`;
	}
	return `+${countryCallingCode} ${groupFromRight('*'.repeat(nationalNumber.length - 2) + last2, 4)}`;
}

function maskPhone(value: string, phoneRegion: string): string {
	const region = phoneRegion.toUpperCase();
	const parsed = parsePhoneNumberFromString(value, isSupportedCountry(region) ? region : undefined);
	if (parsed) return maskPhoneParts(parsed.countryCallingCode, parsed.nationalNumber);
	const digits = value.replace(/\D/g, '');
	return groupFromRight('*'.repeat(Math.max(0, digits.length - 2)) + digits.slice(-2), 4);
}

function maskIban(value: string): string {
	const electronic = value.replace(/[^A-Za-z0-9]/g, '').toUpperCase();
	if (electronic.length <= 8) return '*'.repeat(electronic.length);
	const masked = electronic.slice(0, 4) + '*'.repeat(electronic.length - 8) + electronic.slice(-4);
	return masked.replace(/(.{4})(?=.)/g, '$1 ');
}

function maskCustom(value: string): string {
	const alnumCount = (value.match(/[A-Za-z0-9]/g) ?? []).length;
	let keep = alnumCount >= 6 ? 2 : 0;
	const chars = value.split('');
	for (let i = chars.length - 1; i >= 0; i--) {
		if (/\s/.test(chars[i])) continue;
		if (/[A-Za-z0-9]/.test(chars[i]) && keep > 0) {
			keep--;
			continue;
		}
		if (/[A-Za-z0-9]/.test(chars[i]) || !/[-_.:/#]/.test(chars[i])) chars[i] = '*';
	}
	return chars.join('');
}

function groupFromRight(value: string, size: number): string {
	const groups: string[] = [];
	for (let end = value.length; end > 0; end -= size) {
		groups.unshift(value.slice(Math.max(0, end - size), end));
	}
	return groups.join(' ');
}
